#!/usr/bin/env node
/**
 * The customer's first-load JavaScript, from the build in public/: every JS file the browser
 * loads for `/` and `/customer/request` on a first visit, in raw bytes and gzip bytes (Node's
 * zlib at level 9, the deflate `gzip -9` uses).
 *
 * For each path: the entry chunk and everything it imports statically (what public/index.html
 * loads and modulepreloads), plus the page's own lazy chunk (FIRST_LOAD_ROUTES) with its static
 * imports, read from the Vite manifest (`build.manifest`); then both paths together. Other
 * `dynamicImports` are not followed: they load only when a page asks for them.
 *
 *   npm run build:web && node web/scripts/first-load.mjs          # a table
 *   node web/scripts/first-load.mjs --json                        # the same as JSON
 *   node web/scripts/first-load.mjs --all                         # also every other chunk
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const PUBLIC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'public');
const MANIFEST = join(PUBLIC, '.vite', 'manifest.json');

/**
 * The page modules of the customer's first pages, by path: a page that is a lazy chunk adds its
 * chunk and that chunk's static imports; one bundled into the entry adds nothing more.
 */
const FIRST_LOAD_ROUTES = {
  '/': ['src/pages/SignInPage.tsx'],
  // writes.ts too: the page_view event of every signed-in page loads it at once
  '/customer/request': ['src/pages/CustomerRequestPage.tsx', 'src/writes.ts'],
};

/** Screens a customer never needs: each must be a lazy chunk outside the first load. */
const NOT_FOR_CUSTOMERS = [
  'src/admin/AdminPage.tsx',
  'src/pages/HelperDashboardPage.tsx',
  'src/pages/HelperJobPage.tsx',
  'src/pages/HelperSettingsPage.tsx',
];

function fail(message) {
  console.error(`first-load: ${message}`);
  process.exit(1);
}

if (!existsSync(MANIFEST)) {
  fail(`${MANIFEST} is missing: build the web client first (npm run build:web)`);
}
const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
const entries = Object.entries(manifest).filter(([, chunk]) => chunk.isEntry);
if (entries.length !== 1) fail(`expected one entry in the manifest, found ${entries.length}`);
const [entryKey] = entries[0];

/** The chunk keys `keys` load statically, themselves included, in load order. */
function staticClosure(keys, seen = new Set()) {
  for (const key of keys) {
    if (seen.has(key)) continue;
    const chunk = manifest[key];
    if (!chunk) fail(`the manifest has no chunk ${key}`);
    seen.add(key);
    staticClosure(chunk.imports ?? [], seen);
  }
  return seen;
}

const entryKeys = staticClosure([entryKey]);

// The manifest must agree with what index.html actually loads.
const html = readFileSync(join(PUBLIC, 'index.html'), 'utf8');
const htmlFiles = new Set(
  [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/([^"]+)"/g)]
    .map((match) => match[1]),
);
const entryFiles = new Set([...entryKeys].map((key) => manifest[key].file));
const same =
  htmlFiles.size === entryFiles.size && [...htmlFiles].every((file) => entryFiles.has(file));
if (!same) {
  fail(
    `index.html loads ${[...htmlFiles].join(', ')} but the manifest's entry closure is ` +
      `${[...entryFiles].join(', ')}`,
  );
}

/** The chunks one route loads first: the entry's, then its lazy route modules' (if chunks). */
function routeClosure(modules) {
  return staticClosure(
    modules.filter((key) => manifest[key]),
    new Set(entryKeys),
  );
}
const perRoute = Object.entries(FIRST_LOAD_ROUTES).map(([path, modules]) => [
  path,
  routeClosure(modules),
]);
const firstLoadKeys = new Set(perRoute.flatMap(([, keys]) => [...keys]));

const firstLoadFiles = new Set([...firstLoadKeys].map((key) => manifest[key].file));
for (const key of NOT_FOR_CUSTOMERS) {
  if (!manifest[key]?.isDynamicEntry) fail(`${key} is not a lazy chunk of its own`);
  if (firstLoadFiles.has(manifest[key].file)) fail(`${key} is in the customer's first load`);
}

function sizes(file) {
  const bytes = readFileSync(join(PUBLIC, file));
  return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

function describe(keys) {
  const files = [...new Set([...keys].map((key) => manifest[key].file))]
    .filter((file) => file.endsWith('.js'))
    .map(sizes);
  const total = files.reduce(
    (sum, file) => ({ raw: sum.raw + file.raw, gzip: sum.gzip + file.gzip }),
    { raw: 0, gzip: 0 },
  );
  return { files, total };
}

const report = {
  gzip: 'node zlib gzipSync level 9',
  routes: Object.fromEntries(perRoute.map(([path, keys]) => [path, describe(keys)])),
  firstLoad: describe(firstLoadKeys),
};
if (process.argv.includes('--all')) {
  const rest = Object.keys(manifest).filter((key) => !firstLoadKeys.has(key));
  report.notOnFirstLoad = describe(rest);
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(report, null, 2));
} else {
  const line = (name, raw, gzip) =>
    `${name.padEnd(44)} ${String(raw).padStart(9)} ${String(gzip).padStart(9)}`;
  const table = (title, part) => {
    console.log(`\n${title}`);
    console.log(line('file', 'raw B', 'gzip B'));
    for (const file of part.files) console.log(line(file.file, file.raw, file.gzip));
    console.log(line('total', part.total.raw, part.total.gzip));
  };
  for (const [path, part] of Object.entries(report.routes)) {
    table(`First load of ${path}`, part);
  }
  table('The customer first load: `/` and `/customer/request` together', report.firstLoad);
  console.log(`(gzip: ${report.gzip})`);
  if (report.notOnFirstLoad) table('Not on the customer first load', report.notOnFirstLoad);
}
