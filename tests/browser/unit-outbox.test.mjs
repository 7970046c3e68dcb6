// web/js/outbox.js without a browser (node --test): fetch and localStorage are stubbed HERE ONLY
// (the browser tests use the real server). Retries are forced with retryNow() rather than waiting
// for the backoff. Also web/js/api.js's retry of a GET answered 503 busy (at the end): the stub
// stands in for the server's per-address cap on large replies, which tests/integration/
// test_hostile.py (test_large_replies_over_the_cap_get_503_busy) tests for real.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";

// ---- stubs
const store = new Map();
globalThis.localStorage = {
  getItem: (k) => (store.has(k) ? store.get(k) : null),
  setItem: (k, v) => store.set(k, String(v)),
  removeItem: (k) => store.delete(k),
};
let server = null;  // (method, url, init) -> Response | throws
const calls = [];
globalThis.fetch = async (url, init) => {
  calls.push({ url: String(url), method: init.method, headers: init.headers, body: init.body ? JSON.parse(init.body) : undefined });
  return server(init.method, String(url), init);
};
function json(status, body, headers = {}) {
  return new Response(body === null ? null : JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}
const netDown = () => { throw new TypeError("Failed to fetch"); };

const { Outbox } = await import("../../web/js/outbox.js");
const { ApiError, request, api } = await import("../../web/js/api.js");

const tick = () => new Promise((r) => setTimeout(r, 5));
async function until(fn, ms = 2000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return;
    await tick();
  }
  throw new Error("condition not met");
}

let box;
beforeEach(() => {
  if (box) box.stop();
  store.clear();
  calls.length = 0;
  box = new Outbox();
});

test("create sends Idempotency-Key; the promise resolves with the note", async () => {
  server = () => json(201, { id: 7, version: 1, text: "a" });
  box.start(1);
  const reply = await box.send({ boardId: 3, kind: "create", fields: { text: "a" }, key: "k1" });
  assert.equal(reply.id, 7);
  assert.equal(calls[0].method, "POST");
  assert.match(calls[0].url, /\/boards\/3\/items$/);
  assert.equal(calls[0].headers["Idempotency-Key"], "k1");
  assert.deepEqual(box.pending(3), []);
  assert.equal(store.size, 0, "nothing left in storage");
});

test("network error: queued and online false; retried with the same key; then saved", async () => {
  let up = false;
  server = (m) => (up ? json(201, { id: 9, version: 1 }) : netDown());
  const seen = [];
  box.subscribe((m) => seen.push(m.state));
  box.start(1);
  const p = box.send({ boardId: 3, kind: "create", fields: { text: "x" } });
  await until(() => calls.length === 1 && box.pending(3)[0]?.state === "queued" && !box.online);
  assert.equal(box.pending(3).length, 1);
  up = true;
  box.retryNow();
  assert.equal((await p).id, 9);
  assert.equal(calls[0].headers["Idempotency-Key"], calls[1].headers["Idempotency-Key"]);
  assert.ok(box.online);
  assert.deepEqual(seen.filter((s) => s !== "sending"), ["queued", "queued", "saved"]);
});

for (const [status, headers] of [[408, {}], [429, { "Retry-After": "1" }], [500, {}], [503, {}]]) {
  test(`${status} is retried, not a final refusal`, async () => {
    let n = 0;
    server = () => (n++ === 0 ? json(status, { error: { code: "x", message: "m" } }, headers) : json(200, { id: 5, version: 2, text: "t" }));
    box.start(1);
    const p = box.send({ boardId: 3, itemId: 5, kind: "update", fields: { text: "t" }, version: 1 });
    await until(() => calls.length === 1 && box.pending(3)[0]?.state === "queued");
    box.retryNow();
    assert.equal((await p).version, 2);
    assert.equal(calls.length, 2);
  });
}

for (const status of [400, 403, 404, 409, 413, 422]) {
  test(`${status} rejects at once and leaves the queue`, async () => {
    server = () => json(status, { error: { code: "nope", message: "m" } });
    box.start(1);
    await assert.rejects(box.send({ boardId: 3, itemId: 5, kind: "update", fields: { x: 1 } }), (e) => e instanceof ApiError && e.status === status);
    assert.deepEqual(box.pending(3), []);
  });
}

test("412 rejects with .current and stays as a conflict until another change of the item", async () => {
  server = () => json(412, { error: { code: "version_mismatch" }, current: { id: 5, version: 4, text: "theirs" } });
  box.start(1);
  const states = [];
  box.subscribe((m) => states.push(m.state));
  await assert.rejects(box.send({ boardId: 3, itemId: 5, kind: "update", fields: { text: "mine" }, version: 2 }),
    (e) => e.status === 412 && e.current.text === "theirs");
  assert.ok(states.includes("conflict"));
  assert.equal(box.pending(3)[0].state, "conflict");
  // kept across a reload
  box.stop();
  box.start(1);
  assert.equal(box.pending(3)[0].state, "conflict");
  assert.equal(box.pending(3)[0].fields.text, "mine");
  server = () => json(200, { id: 5, version: 5, text: "mine" });
  await box.send({ boardId: 3, itemId: 5, kind: "update", fields: { text: "mine" }, version: 4 });
  assert.deepEqual(box.pending(3), []);
});

test("412 whose current already has our fields counts as saved (the lost reply)", async () => {
  server = () => json(412, { error: { code: "version_mismatch" }, current: { id: 5, version: 3, text: "mine", x: 10 } });
  box.start(1);
  const r = await box.send({ boardId: 3, itemId: 5, kind: "update", fields: { text: "mine", x: 10 }, version: 2 });
  assert.equal(r.version, 3);
});

test("404 on a retried delete counts as saved", async () => {
  server = () => json(404, { error: { code: "not_found" } });
  box.start(1);
  assert.equal(await box.send({ boardId: 3, itemId: 5, kind: "delete", version: 2 }), null);
});

test("queued updates of one item merge (later wins, first version kept); in flight they do not", async () => {
  server = netDown;
  box.start(1);
  const p1 = box.send({ boardId: 3, itemId: 5, kind: "update", fields: { text: "a", x: 1 }, version: 2 });
  await until(() => calls.length === 1 && box.pending(3)[0]?.state === "queued");
  const p2 = box.send({ boardId: 3, itemId: 5, kind: "update", fields: { text: "b" }, version: 3 });
  const p3 = box.send({ boardId: 3, itemId: 6, kind: "update", fields: { y: 1 } });
  assert.equal(box.pending(3).length, 2);
  assert.deepEqual(box.pending(3)[0].fields, { text: "b", x: 1 });
  server = (m, url, init) => json(200, { id: Number(url.split("/").pop()), version: 9, ...JSON.parse(init.body) });
  box.retryNow();
  const [r1, r2] = await Promise.all([p1, p2, p3]);
  assert.equal(r1, r2);
  const patch5 = calls.filter((c) => c.url.endsWith("/items/5"));
  assert.equal(patch5.at(-1).headers["If-Match"], '"2"');
  assert.deepEqual(patch5.at(-1).body, { text: "b", x: 1 });
});

test("an update sent while the first is in flight is sent after it, with the version it produced", async () => {
  let release;
  const gate = new Promise((r) => { release = r; });
  let n = 0;
  server = async (m, url, init) => {
    n++;
    if (n === 1) await gate;
    return json(200, { id: 5, version: 2 + n, ...JSON.parse(init.body) });
  };
  box.start(1);
  const p1 = box.send({ boardId: 3, itemId: 5, kind: "update", fields: { text: "a" }, version: 2 });
  await until(() => box.pending(3)[0]?.state === "sending");
  const p2 = box.send({ boardId: 3, itemId: 5, kind: "update", fields: { text: "ab" }, version: 2 });
  assert.equal(box.pending(3).length, 2);
  release();
  await Promise.all([p1, p2]);
  assert.equal(calls[1].headers["If-Match"], '"3"');
});

test("after our own move (no If-Match) saves, a queued change based on the version before it follows it", async () => {
  let release;
  const gate = new Promise((r) => { release = r; });
  let n = 0;
  server = async (m, url, init) => {
    n++;
    if (n === 1) await gate;
    return json(200, { id: 5, version: 5 + n, ...JSON.parse(init.body) });
  };
  box.start(1);
  // F (bring to front, last-writer-wins: no version) then C (colour, based on version 5) quickly
  const p1 = box.send({ boardId: 3, itemId: 5, kind: "update", fields: { z: 9 } });
  await until(() => box.pending(3)[0]?.state === "sending");
  const p2 = box.send({ boardId: 3, itemId: 5, kind: "update", fields: { color: "#ffffff" }, version: 5 });
  release();
  await Promise.all([p1, p2]);
  assert.equal(calls.length, 2);
  assert.equal(calls[0].headers["If-Match"], undefined);
  assert.equal(calls[1].headers["If-Match"], '"6"');  // our move made version 6 from 5: no 412
});

test("after our own move saves, a queued change based on an older version than the one before it stays (someone else's change in between)", async () => {
  let release;
  const gate = new Promise((r) => { release = r; });
  let n = 0;
  server = async (m, url, init) => {
    n++;
    if (n === 1) await gate;
    return json(200, { id: 5, version: 6 + n, ...JSON.parse(init.body) });  // 7: someone else made 6
  };
  box.start(1);
  const p1 = box.send({ boardId: 3, itemId: 5, kind: "update", fields: { z: 9 } });
  await until(() => box.pending(3)[0]?.state === "sending");
  const p2 = box.send({ boardId: 3, itemId: 5, kind: "update", fields: { color: "#ffffff" }, version: 5 });
  release();
  await p1;
  await p2;
  assert.equal(calls[1].headers["If-Match"], '"5"');  // the server decides: a conflict if 6 was not ours
});

test("tmp-<key>: follow-ups of a note created offline go to its real id; the queue survives a reload", async () => {
  server = netDown;
  box.start(42);
  box.send({ boardId: 3, kind: "create", fields: { text: "new" }, key: "abc" }).catch(() => {});
  await until(() => calls.length === 1);
  // in flight -> no merge; after it failed it is queued again
  await until(() => box.pending(3)[0]?.state === "queued");
  box.send({ boardId: 3, itemId: "tmp-abc", kind: "delete", version: 1 }).catch(() => {});
  assert.ok(store.get("teamboard.outbox.42"), "stored per user");
  // reload: a new outbox (same storage), the promises are gone
  box.stop();
  box = new Outbox();
  const saved = [];
  box.subscribe((m) => { if (m.state === "saved") saved.push(m); });
  server = (m, url) => (m === "POST" ? json(201, { id: 77, version: 1, text: "new" }) : new Response(null, { status: 204 }));
  box.start(42);
  await until(() => saved.length === 2);
  assert.deepEqual(calls.slice(-2).map((c) => [c.method, c.url.replace(/.*\/boards/, "")]), [["POST", "/3/items"], ["DELETE", "/3/items/77"]]);
  assert.equal(calls.at(-2).headers["Idempotency-Key"], "abc");
  assert.equal(calls.at(-1).headers["If-Match"], '"1"');
  assert.equal(saved[1].itemId, 77);
  assert.equal(box.resolveId("tmp-abc"), 77);
  assert.equal(store.size, 0);
});

test("an update of a note whose create is still queued rides along with the create", async () => {
  server = netDown;
  box.start(1);
  const pc = box.send({ boardId: 3, kind: "create", fields: { text: "" }, key: "k9" });
  await until(() => calls.length === 1 && box.pending(3)[0]?.state === "queued");
  const pu = box.send({ boardId: 3, itemId: "tmp-k9", kind: "update", fields: { text: "typed" } });
  assert.equal(box.pending(3).length, 1);
  server = (m, url, init) => json(201, { id: 8, version: 1, ...JSON.parse(init.body) });
  box.retryNow();
  assert.equal((await pu).text, "typed");
  assert.equal((await pc).id, 8);
});

test("stored per user: another user's queue is not sent", async () => {
  server = netDown;
  box.start(1);
  box.send({ boardId: 3, itemId: 5, kind: "update", fields: { x: 1 } }).catch(() => {});
  await until(() => calls.length === 1);
  box.stop();
  calls.length = 0;
  server = () => json(200, { id: 5, version: 2 });
  box.start(2);
  assert.deepEqual(box.pending(3), []);
  await tick();
  assert.equal(calls.length, 0);
  assert.ok(store.get("teamboard.outbox.1"));
});

test("bad changes are refused at once", async () => {
  box.start(1);
  await assert.rejects(box.send({ boardId: 3, kind: "move" }), (e) => e.status === 400);
  await assert.rejects(box.send({ kind: "create" }), (e) => e.status === 400);
});

test("two tabs of one user share the stored queue: neither loses the other's entries", async () => {
  server = netDown;
  const other = new Outbox();
  box.start(5);
  other.start(5);
  box.send({ boardId: 3, itemId: 1, kind: "update", fields: { x: 1 } }).catch(() => {});
  other.send({ boardId: 3, itemId: 2, kind: "update", fields: { x: 2 } }).catch(() => {});
  await until(() => calls.length >= 2);
  const stored = () => JSON.parse(store.get("teamboard.outbox.5")).queue.map((e) => e.itemId).sort();
  assert.deepEqual(stored(), [1, 2]);
  // box's change is saved: it leaves the stored queue, the other tab's stays
  server = (m, url) => (url.endsWith("/items/1") ? json(200, { id: 1, version: 2, x: 1 }) : netDown());
  box.retryNow();
  await until(() => box.pending(3).length === 0);
  assert.deepEqual(stored(), [2]);
  other.stop();
});

// ---- 503 busy: the server's cap on large replies per client address (docs/operations.md,
// max_large_replies_per_address) answers 503 {"error":{"code":"busy"}} with Retry-After: 1.
const busy = () => json(503, { error: { code: "busy", message: "too many large replies are being sent to this address; try again after Retry-After" } }, { "Retry-After": "1" });

test("api.js: a GET answered 503 busy is tried again after Retry-After and succeeds", async () => {
  let n = 0;
  server = () => (n++ === 0 ? busy() : json(200, { boards: [{ id: 1 }] }));
  const t0 = Date.now();
  const r = await api.boards();
  const took = Date.now() - t0;
  assert.deepEqual(r, { boards: [{ id: 1 }] });
  assert.equal(calls.length, 2);
  assert.ok(calls.every((c) => c.method === "GET" && c.url.endsWith("/boards")));
  assert.ok(took >= 950, `waited Retry-After (1 s) before trying again: ${took} ms`);
  assert.ok(took < 3000, `Retry-After plus a little jitter, not a second wait: ${took} ms`);
});

test("api.js: a GET still busy after 3 tries gives up with a sentence for people", async () => {
  server = busy;
  const t0 = Date.now();
  await assert.rejects(request("GET", "/boards/4"), (e) => e instanceof ApiError && e.status === 503 && e.code === "busy" &&
    e.message === "The server is busy; try again in a moment." && e.retryAfter === 1);
  assert.equal(calls.length, 3, "3 tries in all, bounded");
  assert.ok(Date.now() - t0 >= 1900, "Retry-After honoured between the tries");
});

test("api.js: a Retry-After beyond a few seconds is not waited out in full", async () => {
  let n = 0;
  server = () => (n++ === 0 ? json(503, { error: { code: "busy", message: "m" } }, { "Retry-After": "3600" }) : json(200, { teams: [] }));
  const t0 = Date.now();
  assert.deepEqual(await api.teams(), { teams: [] });
  assert.ok(Date.now() - t0 < 10000, `capped at 5 s (+ jitter), not an hour: ${Date.now() - t0} ms`);
});

test("api.js: writes and other 503s are not retried by api.js", async () => {
  server = busy;
  await assert.rejects(api.createBoard("x"), (e) => e.code === "busy");
  await assert.rejects(request("PATCH", "/boards/4", { body: { title: "y" }, version: 1 }), (e) => e.code === "busy");
  assert.deepEqual(calls.map((c) => c.method), ["POST", "PATCH"]);
  calls.length = 0;
  server = () => json(503, { error: { code: "db_unavailable", message: "m" } }, { "Retry-After": "1" });
  await assert.rejects(api.boards(), (e) => e.code === "db_unavailable");
  assert.equal(calls.length, 1);
});

test("outbox: a write answered 503 busy is queued and retried after Retry-After; the server counts as reachable", async () => {
  let n = 0;
  server = () => (n++ === 0 ? busy() : json(200, { id: 5, version: 2, text: "t" }));
  const onlines = [];
  box.watchOnline((v) => onlines.push(v));
  box.start(1);
  const t0 = Date.now();
  const p = box.send({ boardId: 3, itemId: 5, kind: "update", fields: { text: "t" }, version: 1 });
  await until(() => calls.length === 1 && box.pending(3)[0]?.state === "queued");
  assert.equal(box.online, true, "busy is not 'not saving' (no banner)");
  assert.equal((await p).version, 2);
  assert.ok(Date.now() - t0 >= 950, "not before Retry-After");
  assert.equal(calls.length, 2);
  assert.deepEqual(onlines, []);
});
