/**
 * Builds the web client from web/ into public/ (what Hosting serves), then the FCM service
 * worker as one self-contained classic script at public/firebase-messaging-sw.js, bundled from
 * npm `firebase` with the same build-time env (VITE_FIREBASE_CONFIG), so nothing loads from a CDN.
 */
import react from '@vitejs/plugin-react';
import { build, defineConfig, type Plugin, type ResolvedConfig } from 'vite';

const root = decodeURIComponent(new URL('.', import.meta.url).pathname);
const outDir = decodeURIComponent(new URL('../public', import.meta.url).pathname);
const SERVICE_WORKER_ENTRY = `${root}src/sw/firebase-messaging-sw.ts`;
const SERVICE_WORKER_FILE = 'firebase-messaging-sw.js';

/** After the app is written, build the service worker into the same folder (no hash). */
function messagingServiceWorker(): Plugin {
  let app: ResolvedConfig;
  return {
    name: 'homepro-messaging-service-worker',
    apply: 'build',
    configResolved(resolved) {
      app = resolved;
    },
    async closeBundle() {
      await build({
        configFile: false,
        root,
        mode: app.mode,
        envDir: app.envDir,
        envPrefix: app.envPrefix,
        publicDir: false,
        logLevel: 'warn',
        define: { 'process.env.NODE_ENV': JSON.stringify('production') },
        build: {
          outDir,
          emptyOutDir: false,
          copyPublicDir: false,
          sourcemap: false,
          lib: {
            entry: SERVICE_WORKER_ENTRY,
            formats: ['iife'],
            name: 'homeproMessagingServiceWorker',
            fileName: () => SERVICE_WORKER_FILE,
          },
        },
      });
    },
  };
}

const RE2JS_STUB = '\0homepro:re2js-unused';

/**
 * Firestore (since its pipelines) imports re2js, a regular-expression engine of ~46 kB gzip, for
 * one thing only: evaluating a pipeline's `like`, `regex_contains` and `regex_match` on the
 * client. This app runs plain queries (onSnapshot, getDoc), never pipelines, so re2js is
 * replaced by a stub whose `compile` throws; each of Firestore's three call sites catches that
 * and treats the pattern as invalid. Anything else importing re2js fails the build.
 */
function firestoreWithoutRe2js(): Plugin {
  return {
    name: 'homepro-firestore-without-re2js',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source !== 're2js') return null;
      if (importer && /node_modules[\\/]@firebase[\\/]firestore[\\/]/.test(importer)) {
        return RE2JS_STUB;
      }
      this.error(`re2js is stubbed out for Firestore only, but ${importer ?? '?'} imports it`);
    },
    load(id) {
      if (id !== RE2JS_STUB) return null;
      return `export const RE2JS = {
  compile() {
    throw new Error('re2js is not bundled: this app evaluates no Firestore pipeline regex');
  },
};`;
    },
  };
}

export default defineConfig({
  root,
  publicDir: false,
  plugins: [react(), firestoreWithoutRe2js(), messagingServiceWorker()],
  build: {
    outDir,
    emptyOutDir: true,
    sourcemap: false,
    // public/.vite/manifest.json (Hosting ignores dot folders): web/scripts/first-load.mjs reads
    // which chunks the entry and each lazy route load.
    manifest: true,
    // The stylesheet is small; this keeps the build free of a second native binary.
    cssMinify: false,
    // The Firebase SDK (Auth, Firestore, Functions) is one ~500 kB chunk on its own.
    chunkSizeWarningLimit: 600,
    rolldownOptions: {
      output: {
        // Libraries change less often than the app: separate chunks stay cached across deploys.
        codeSplitting: {
          groups: [
            // The app and Auth: every first load. Firestore and Functions load with the first
            // page that needs them; messaging (and installations, which only it uses) and App
            // Check (production only) are lazy chunks of their own.
            {
              name: 'firebase',
              test: /node_modules[\\/]@?firebase[\\/](?!messaging|installations|firestore|webchannel-wrapper|functions|app-check)/,
            },
            {
              name: 'firestore',
              test: /node_modules[\\/](@firebase[\\/](firestore|webchannel-wrapper)|firebase[\\/]firestore)[\\/]/,
            },
            {
              name: 'react',
              test: /node_modules[\\/](react|react-dom|react-router|scheduler)[\\/]/,
            },
          ],
        },
      },
    },
  },
  server: { host: '127.0.0.1' },
});
