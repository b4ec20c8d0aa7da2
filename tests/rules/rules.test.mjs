// The Firestore security rules, as a matrix: role x collection x read / create / update / delete.
//
// Each case is one assertSucceeds ("allow: …") or assertFails ("deny: …") against the Firestore
// emulator, on fresh data. `make test` runs it twice: with firestore.rules (every case passes)
// and with an allow-all rules file (every "deny" case must fail, every "allow" case pass), which
// shows that each refusal comes from our rules and not from something else.
import { readFileSync } from "node:fs";
import { after, before, beforeEach, test } from "node:test";

import {
  assertFails,
  assertSucceeds,
  initializeTestEnvironment,
} from "@firebase/rules-unit-testing";
import {
  addDoc,
  collection,
  deleteDoc,
  doc,
  getDoc,
  getDocs,
  query,
  serverTimestamp,
  setDoc,
  Timestamp,
  updateDoc,
  where,
} from "firebase/firestore";

const RULES = process.env.HOMEPRO_RULES ?? "firestore.rules";
const [HOST, PORT] = (process.env.FIRESTORE_EMULATOR_HOST ?? "127.0.0.1:8080").split(":");

// Who asks: uid and custom claims (the role claim is what the server sets).
const WHO = {
  anonymous: null,
  customer: { uid: "c1", role: "customer" },
  "other customer": { uid: "c2", role: "customer" },
  helper: { uid: "h1", role: "helper" },
  "other helper": { uid: "h2", role: "helper" },
  admin: { uid: "a1", role: "admin" },
};

const LONG_AGO = Timestamp.fromDate(new Date("2026-01-01T00:00:00Z"));

const SEED = {
  "users/c1": { role: "customer", displayName: "Cara", createdAt: LONG_AGO },
  "users/c2": { role: "customer", displayName: "Cole", createdAt: LONG_AGO },
  "users/h1": { role: "helper", displayName: "Hana", isAvailable: true, createdAt: LONG_AGO },
  "users/h2": { role: "helper", displayName: "Hugo", isAvailable: true, createdAt: LONG_AGO },
  "users/a1": { role: "admin", displayName: "Ada", createdAt: LONG_AGO },
  "users/c1/devices/d1": { token: "tok-c1", platform: "web", createdAt: LONG_AGO },
  "deviceIndex/c1": { devices: { d1: LONG_AGO } },
  "users/c1/notifications/n1": {
    type: "request_claimed",
    title: "A helper is on it",
    body: "Hana claimed your request.",
    data: { requestId: "rClaimed" },
    createdAt: LONG_AGO,
    readAt: null,
  },
  "requests/rPending": request("c1", "pending", "authorized"),
  "requests/rUnpaid": request("c1", "pending", "requires_payment"),
  "requests/rClaimed": { ...request("c1", "claimed", "authorized"), helperId: "h1" },
  "requests/rOther": { ...request("c2", "claimed", "authorized"), helperId: "h2" },
  "jobs/rPending": job("pending", "authorized", true),
  "jobs/rUnpaid": job("pending", "requires_payment", false),
  "jobs/rClaimed": job("claimed", "authorized", false),
  "requests/rClaimed/events/v000002-request_claimed": {
    type: "request_claimed",
    from: "pending",
    to: "claimed",
    actor: { uid: "h1", role: "helper" },
    reason: null,
    at: LONG_AGO,
  },
  "requests/rPending/dispatches/initial": { round: 1, reason: "initial", sent: 1 },
  "requests/rPending/dispatches/initial/targets/h1": { devices: 1, at: LONG_AGO },
  "sessions/s1": { requestId: "rClaimed", customerId: "c1", helperId: "h1", status: "waiting" },
  "config/checklists": { plumbing: ["water_shutoff_located"] },
  "analytics/server-1": { type: "request_created", source: "server", timestamp: LONG_AGO },
  "dispatchDirectory/00": { helpers: {} },
  "dispatchDirectory/hvac": { shards: 1 },
  "dispatchShards/hvac-0000": { helpers: { h1: "{}" }, mod: 1 },
  "dispatchMembers/h1": { categories: ["hvac"] },
  "helperClaims/h1": { open: ["rClaimed"] },
  "helperAlerts/h1": { alerts: [LONG_AGO], limit: 8, updatedAt: LONG_AGO },
  "sessionLinks/s1": { customerJoinUrl: "https://v/c", helperJoinUrl: "https://v/h" },
  "customerLimits/c1": { open: ["rPending"], created: [LONG_AGO], attempts: {} },
  "sourceLimits/k1": { attempts: {}, signups: [LONG_AGO] },
  "textCounts/0a1b2c-2026010100": { count: 6, hour: LONG_AGO, updatedAt: LONG_AGO },
  "testFaults/before_stripe_call": { point: "before_stripe_call" },
  "outbox/rPending-v1": { kind: "transition", requestId: "rPending", version: 1, owedAt: LONG_AGO },
  "stripeBudget/i10-18000000000": { pool: "i", slot: 18000000000, second: 1800000000, expireAt: LONG_AGO },
  "quotes/q1": {
    customerId: "c1", category: "plumbing", expectedMinutes: 4, p90Minutes: 9.6, overPromise: false,
    helpersAvailable: 3, createdAt: LONG_AGO, expiresAt: LONG_AGO, used: false, requestId: null,
  },
  "quoteLimits/c1": { asked: [LONG_AGO], updatedAt: LONG_AGO, expireAt: LONG_AGO },
};

function request(customerId, status, paymentStatus) {
  return {
    customerId,
    category: "plumbing",
    description: "The kitchen sink drips all night long.",
    amount: 4900,
    currency: "usd",
    status,
    paymentStatus,
    createdAt: LONG_AGO,
    version: 2,
  };
}

function job(status, paymentStatus, open) {
  return {
    category: "plumbing",
    description: "The kitchen sink drips all night long.",
    amount: 4900,
    currency: "usd",
    status,
    paymentStatus,
    open,
    createdAt: LONG_AGO,
    updatedAt: LONG_AGO,
  };
}

function clientEvent(overrides = {}) {
  return {
    type: "page_view",
    userId: "c1",
    metadata: { path: "/customer/request", category: "plumbing", surface: null },
    timestamp: serverTimestamp(),
    source: "client",
    ...overrides,
  };
}

const device = (overrides = {}) => ({
  token: "tok-new",
  platform: "web",
  createdAt: serverTimestamp(),
  ...overrides,
});

const get = (path) => (db) => getDoc(doc(db, path));
const list = (path, ...filters) => (db) => getDocs(query(collection(db, path), ...filters));
const set = (path, data) => (db) => setDoc(doc(db, path), data);
const update = (path, data) => (db) => updateDoc(doc(db, path), data);
const remove = (path) => (db) => deleteDoc(doc(db, path));
const add = (path, data) => (db) => addDoc(collection(db, path), data);

// [expect, who, what, operation]
const CASES = [
  // users: only yourself, only the contract's fields, never the role
  ["deny", "anonymous", "get a profile", get("users/c1")],
  ["allow", "customer", "get own profile", get("users/c1")],
  ["deny", "other customer", "get another's profile", get("users/c1")],
  ["deny", "helper", "get a customer's profile", get("users/c1")],
  ["deny", "admin", "get another's profile", get("users/c1")],
  ["deny", "customer", "list every profile", list("users")],
  ["allow", "customer", "update own displayName", update("users/c1", { displayName: "Cara B", updatedAt: serverTimestamp() })],
  ["deny", "customer", "set own role", update("users/c1", { role: "admin" })],
  ["deny", "helper", "set own role", update("users/h1", { role: "admin" })],
  ["deny", "other customer", "update another's profile", update("users/c1", { displayName: "Mallory" })],
  ["allow", "helper", "update own availability, categories, quiet hours, phone", update("users/h1", {
    isAvailable: false,
    categories: ["plumbing", "hvac"],
    quietHours: { start: "22:00", end: "07:00", tz: "America/Chicago" },
    phone: "+15125550100",
  })],
  ["deny", "helper", "serve an unknown category", update("users/h1", { categories: ["roofing"] })],
  ["deny", "helper", "set a phone that is not E.164", update("users/h1", { phone: "555-0100" })],
  ["deny", "helper", "set malformed quiet hours", update("users/h1", { quietHours: { start: "25:00", end: "07:00", tz: "UTC" } })],
  ["allow", "helper", "choose own new-job alerts per hour", update("users/h1", { maxJobAlertsPerHour: 5, updatedAt: serverTimestamp() })],
  ["allow", "helper", "choose the job board only (0 alerts per hour)", update("users/h1", { maxJobAlertsPerHour: 0 })],
  ["allow", "helper", "choose the most alerts per hour (60)", update("users/h1", { maxJobAlertsPerHour: 60 })],
  ["allow", "helper", "go back to the project's alert budget (null)", update("users/h1", { maxJobAlertsPerHour: null })],
  ["deny", "helper", "choose 61 alerts per hour", update("users/h1", { maxJobAlertsPerHour: 61 })],
  ["deny", "helper", "choose a negative alert budget", update("users/h1", { maxJobAlertsPerHour: -1 })],
  ["deny", "helper", "choose a fractional alert budget", update("users/h1", { maxJobAlertsPerHour: 2.5 })],
  ["deny", "helper", "choose an alert budget as text", update("users/h1", { maxJobAlertsPerHour: "5" })],
  ["deny", "other helper", "set another helper's alert budget", update("users/h1", { maxJobAlertsPerHour: 0 })],
  ["deny", "customer", "set a displayName of 81 characters", update("users/c1", { displayName: "x".repeat(81) })],
  ["deny", "customer", "set updatedAt from the client clock", update("users/c1", { updatedAt: LONG_AGO })],
  ["deny", "customer", "write the legacy fcmToken", update("users/c1", { fcmToken: "tok" })],
  ["deny", "customer", "create a profile", set("users/c9", { role: "customer" })],
  ["deny", "customer", "delete own profile", remove("users/c1")],

  // devices: each user reads only their own; registered and removed through callables only
  ["allow", "customer", "get own device", get("users/c1/devices/d1")],
  ["allow", "customer", "list own devices", list("users/c1/devices")],
  ["deny", "customer", "add own device directly", set("users/c1/devices/d2", device())],
  ["deny", "customer", "refresh own device token directly", update("users/c1/devices/d1", { token: "tok-2", updatedAt: serverTimestamp() })],
  ["deny", "customer", "delete own device directly", remove("users/c1/devices/d1")],
  ["deny", "helper", "add own device directly", set("users/h1/devices/d2", device())],
  ["deny", "other customer", "get another's device", get("users/c1/devices/d1")],
  ["deny", "other customer", "add a device to another user", set("users/c1/devices/d9", device())],
  ["deny", "admin", "add a device to a customer", set("users/c1/devices/d9", device())],
  ["deny", "other customer", "delete another's device", remove("users/c1/devices/d1")],
  ["deny", "anonymous", "add a device", set("users/c1/devices/d9", device())],
  ["deny", "customer", "read own device index", get("deviceIndex/c1")],
  ["deny", "customer", "reset own device index", set("deviceIndex/c1", { devices: {} })],

  // inbox: read your own, set only readAt
  ["allow", "customer", "get own notification", get("users/c1/notifications/n1")],
  ["allow", "customer", "mark own notification read", update("users/c1/notifications/n1", { readAt: serverTimestamp() })],
  ["deny", "other customer", "get another's notification", get("users/c1/notifications/n1")],
  ["deny", "other customer", "mark another's notification read", update("users/c1/notifications/n1", { readAt: serverTimestamp() })],
  ["deny", "customer", "rewrite a notification's title", update("users/c1/notifications/n1", { title: "Free money" })],
  ["deny", "customer", "create a notification", set("users/c1/notifications/n2", { type: "x", title: "x", body: "x" })],
  ["deny", "customer", "delete a notification", remove("users/c1/notifications/n1")],

  // requests: customers their own, helpers only those they hold (the board reads `jobs`)
  ["allow", "customer", "get own request", get("requests/rPending")],
  ["allow", "customer", "list own requests", list("requests", where("customerId", "==", "c1"))],
  ["deny", "customer", "list every request", list("requests")],
  ["deny", "other customer", "get another customer's request", get("requests/rPending")],
  ["deny", "other customer", "list another customer's requests", list("requests", where("customerId", "==", "c1"))],
  ["deny", "anonymous", "get a request", get("requests/rPending")],
  ["deny", "helper", "get a dispatchable request they do not hold", get("requests/rPending")],
  ["deny", "helper", "list the dispatchable requests", list("requests", where("status", "==", "pending"), where("paymentStatus", "==", "authorized"))],
  ["deny", "helper", "list pending requests whatever their payment", list("requests", where("status", "==", "pending"))],
  ["deny", "helper", "get an unpaid request", get("requests/rUnpaid")],
  ["allow", "helper", "get the request they hold", get("requests/rClaimed")],
  ["allow", "helper", "list the requests they hold", list("requests", where("helperId", "==", "h1"))],
  ["deny", "other helper", "get a request another helper holds", get("requests/rClaimed")],
  ["deny", "customer", "get another customer's claimed request", get("requests/rOther")],
  ["allow", "admin", "get any request", get("requests/rOther")],
  ["deny", "customer", "cancel by writing status", update("requests/rPending", { status: "cancelled" })],
  ["deny", "helper", "claim by writing status", update("requests/rPending", { status: "claimed", helperId: "h1" })],
  ["deny", "customer", "create a request directly", set("requests/rNew", request("c1", "pending", "authorized"))],
  ["deny", "admin", "write a request", update("requests/rPending", { amount: 1 })],
  ["deny", "customer", "delete own request", remove("requests/rPending")],

  // jobs: what helpers see of a request before holding it; open ones only; written by nobody
  ["allow", "helper", "get an open job", get("jobs/rPending")],
  ["allow", "helper", "list the job board", list("jobs", where("open", "==", true))],
  ["deny", "helper", "list every job", list("jobs")],
  ["deny", "helper", "get a job that is no longer open", get("jobs/rClaimed")],
  ["deny", "helper", "get a job not yet paid for", get("jobs/rUnpaid")],
  ["deny", "customer", "get the job of own request", get("jobs/rPending")],
  ["deny", "customer", "list the job board", list("jobs", where("open", "==", true))],
  ["deny", "anonymous", "get an open job", get("jobs/rPending")],
  ["allow", "admin", "get a closed job", get("jobs/rClaimed")],
  ["deny", "helper", "close a job by writing it", update("jobs/rPending", { open: false })],
  ["deny", "customer", "create a job", set("jobs/rNew", job("pending", "authorized", true))],
  ["deny", "admin", "write a job", set("jobs/rPending", job("pending", "authorized", true))],
  ["deny", "helper", "delete a job", remove("jobs/rPending")],

  // the audit trail: read by the request's customer and admins, written by nobody
  ["allow", "customer", "read own request's audit trail", list("requests/rClaimed/events")],
  ["deny", "other customer", "read another's audit trail", list("requests/rClaimed/events")],
  ["deny", "helper", "read the audit trail", get("requests/rClaimed/events/v000002-request_claimed")],
  ["allow", "admin", "read an audit event", get("requests/rClaimed/events/v000002-request_claimed")],
  ["deny", "customer", "write an audit event", add("requests/rClaimed/events", { type: "request_cancelled" })],
  ["deny", "admin", "rewrite an audit event", update("requests/rClaimed/events/v000002-request_claimed", { to: "cancelled" })],

  // dispatch rounds: operators only
  ["deny", "helper", "read a dispatch round", get("requests/rPending/dispatches/initial")],
  ["deny", "customer", "read a round's targets", list("requests/rPending/dispatches/initial/targets")],
  ["allow", "admin", "read a dispatch round", get("requests/rPending/dispatches/initial")],
  ["deny", "helper", "reserve a round", set("requests/rPending/dispatches/released-1", { round: 2 })],

  // sessions: their customer and helper
  ["allow", "customer", "get own session", get("sessions/s1")],
  ["allow", "helper", "get the session they run", get("sessions/s1")],
  ["allow", "customer", "list own sessions", list("sessions", where("customerId", "==", "c1"))],
  ["deny", "other customer", "get another's session", get("sessions/s1")],
  ["deny", "other helper", "get another helper's session", get("sessions/s1")],
  ["deny", "helper", "end a session by writing it", update("sessions/s1", { status: "ended" })],
  ["deny", "customer", "create a session", set("sessions/s2", { customerId: "c1", status: "waiting" })],

  // config
  ["allow", "customer", "read the checklists", get("config/checklists")],
  ["deny", "anonymous", "read the checklists", get("config/checklists")],
  ["deny", "admin", "write the checklists", set("config/checklists", { plumbing: [] })],

  // analytics: client events only, own, server-stamped, small; read by admins
  ["allow", "customer", "record a client event", add("analytics", clientEvent())],
  ["deny", "customer", "forge a server event", add("analytics", clientEvent({ source: "server" }))],
  ["deny", "customer", "take a server event's id first", set("analytics/request_released-r1-v3", clientEvent())],
  ["deny", "customer", "record a client event under an id of its own", set("analytics/my-event", clientEvent())],
  ["deny", "customer", "record a server event type", add("analytics", clientEvent({ type: "request_claimed" }))],
  ["deny", "customer", "record an event as another user", add("analytics", clientEvent({ userId: "c2" }))],
  ["deny", "customer", "stamp an event with the client clock", add("analytics", clientEvent({ timestamp: LONG_AGO }))],
  ["deny", "customer", "attach metadata of 11 keys", add("analytics", clientEvent({ metadata: Object.fromEntries([...Array(11).keys()].map((k) => [`k${k}`, k])) }))],
  ["deny", "customer", "attach a metadata key the client never records", add("analytics", clientEvent({ metadata: { path: "/", payload: "x" } }))],
  ["deny", "customer", "attach a metadata string over 256 characters", add("analytics", clientEvent({ metadata: { path: "/" + "a".repeat(256) } }))],
  ["deny", "customer", "attach nested metadata", add("analytics", clientEvent({ metadata: { path: { deep: "x".repeat(100) } } }))],
  ["deny", "customer", "attach a metadata list", add("analytics", clientEvent({ metadata: { mode: ["a", "b"] } }))],
  ["deny", "anonymous", "record a client event", add("analytics", clientEvent())],
  ["deny", "customer", "read analytics", get("analytics/server-1")],
  ["allow", "admin", "read analytics", list("analytics")],
  ["deny", "admin", "rewrite an analytics event", update("analytics/server-1", { type: "x" })],

  // the helper directory (server only)
  ["deny", "helper", "read the helper directory", get("dispatchDirectory/00")],
  ["deny", "admin", "write the helper directory", set("dispatchDirectory/00", { helpers: {} })],
  ["deny", "helper", "read a category's shard count", get("dispatchDirectory/hvac")],
  ["deny", "helper", "read a directory shard", get("dispatchShards/hvac-0000")],
  ["deny", "admin", "read a directory shard", get("dispatchShards/hvac-0000")],
  ["deny", "helper", "write a directory shard", set("dispatchShards/hvac-0000", { helpers: {} })],
  ["deny", "helper", "read their directory membership", get("dispatchMembers/h1")],
  ["deny", "helper", "write their directory membership",
    set("dispatchMembers/h1", { categories: [] })],
  ["deny", "helper", "read their open claims", get("helperClaims/h1")],
  ["deny", "helper", "reset their open claims", set("helperClaims/h1", { open: [] })],
  // the alert budget's state: its helper reads it (the settings page), nobody writes it
  ["allow", "helper", "read own alert budget", get("helperAlerts/h1")],
  ["deny", "other helper", "read another helper's alert budget", get("helperAlerts/h1")],
  ["deny", "admin", "read a helper's alert budget", get("helperAlerts/h1")],
  ["deny", "anonymous", "read a helper's alert budget", get("helperAlerts/h1")],
  ["deny", "helper", "list the alert budgets", list("helperAlerts")],
  ["deny", "helper", "reset own alert budget", set("helperAlerts/h1", { alerts: [], limit: 60, updatedAt: serverTimestamp() })],
  ["deny", "helper", "raise own alert limit", update("helperAlerts/h1", { limit: 60 })],
  ["deny", "helper", "delete own alert budget", remove("helperAlerts/h1")],
  ["deny", "other helper", "create own alert budget before the server", set("helperAlerts/h2", { alerts: [], limit: 60, updatedAt: serverTimestamp() })],
  ["deny", "customer", "read the session's video links", get("sessionLinks/s1")],
  ["deny", "helper", "read the session's video links", get("sessionLinks/s1")],
  // the abuse counters (server only)
  ["deny", "customer", "read their own request counters", get("customerLimits/c1")],
  ["deny", "customer", "reset their own request counters", set("customerLimits/c1", { open: [] })],
  ["deny", "customer", "read an address's counters", get("sourceLimits/k1")],
  ["deny", "anonymous", "reset an address's sign-ups", set("sourceLimits/k1", { signups: [] })],
  // texts per phone number (server only)
  ["deny", "customer", "read a number's text count", get("textCounts/0a1b2c-2026010100")],
  ["deny", "admin", "list the text counts", list("textCounts")],
  ["deny", "helper", "reset a number's text count", set("textCounts/0a1b2c-2026010100", { count: 0 })],
  ["deny", "customer", "delete a number's text count", remove("textCounts/0a1b2c-2026010100")],
  // the test stack's fault tokens (Admin SDK only: a client must not arm or disarm a fault)
  ["deny", "customer", "read a fault token", get("testFaults/before_stripe_call")],
  ["deny", "admin", "list the fault tokens", list("testFaults")],
  ["deny", "helper", "arm a fault", set("testFaults/after_stripe_call", { point: "after_stripe_call" })],
  ["deny", "anonymous", "arm a fault", set("testFaults/mid_fanout", { point: "mid_fanout" })],
  ["deny", "customer", "disarm a fault", remove("testFaults/before_stripe_call")],
  ["deny", "customer", "read what a transition owes", get("outbox/rPending-v1")],
  ["deny", "admin", "list the outbox", list("outbox")],
  ["deny", "helper", "finish an outbox entry", remove("outbox/rPending-v1")],
  // the Stripe budget's tokens (Admin SDK only: a client taking them would starve the callables)
  ["deny", "customer", "read a Stripe budget token", get("stripeBudget/i10-18000000000")],
  ["deny", "admin", "list the Stripe budget", list("stripeBudget")],
  ["deny", "customer", "take a Stripe budget token", set("stripeBudget/i10-18000000001", { slot: 18000000001 })],
  ["deny", "helper", "free a Stripe budget token", remove("stripeBudget/i10-18000000000")],
  // the waits shown before paying (server only: the callable answers what a customer sees)
  ["deny", "customer", "read their own quote", get("quotes/q1")],
  ["deny", "admin", "list the quotes", list("quotes")],
  ["deny", "helper", "read a customer's quote", get("quotes/q1")],
  ["deny", "customer", "forge a short wait", set("quotes/q2", { customerId: "c1", expectedMinutes: 1 })],
  ["deny", "customer", "extend their quote", update("quotes/q1", { expiresAt: Timestamp.fromDate(new Date("2099-01-01T00:00:00Z")) })],
  ["deny", "customer", "free a used quote", update("quotes/q1", { used: false, requestId: null })],
  ["deny", "customer", "read their quote counter", get("quoteLimits/c1")],
  ["deny", "customer", "reset their quote counter", remove("quoteLimits/c1")],
];

const names = CASES.map(([expect, who, what]) => `${expect}: ${who} ${what}`);
if (new Set(names).size !== names.length) throw new Error("two cases have one name");

let env;

before(async () => {
  env = await initializeTestEnvironment({
    projectId: "demo-homepro-rules",
    firestore: { rules: readFileSync(RULES, "utf8"), host: HOST, port: Number(PORT) },
  });
});

beforeEach(async () => {
  await env.clearFirestore();
  await env.withSecurityRulesDisabled(async (context) => {
    const db = context.firestore();
    await Promise.all(Object.entries(SEED).map(([path, data]) => setDoc(doc(db, path), data)));
  });
});

after(async () => {
  await env?.cleanup();
});

for (const [expect, who, what, operation] of CASES) {
  test(`${expect}: ${who} ${what}`, async () => {
    const person = WHO[who];
    const context =
      person === null
        ? env.unauthenticatedContext()
        : env.authenticatedContext(person.uid, { role: person.role });
    const attempt = operation(context.firestore());
    await (expect === "allow" ? assertSucceeds(attempt) : assertFails(attempt));
  });
}
