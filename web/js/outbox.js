// The outbox: every change of a note goes through it, so that no change is lost to a network cut
// or a server that is down. Changes are sent one at a time in the order they were made; a
// failure for the network, 408, 429 or 5xx (503 busy included) keeps the change queued and
// retried with backoff (1 s doubling to 30 s, with jitter; Retry-After when the server gives
// one), at once when the browser goes online or retryNow() is called. The queue is kept in localStorage per user
// ("teamboard.outbox.<user id>") and sent again after a reload.
//
// Contract (the board uses it; see also pending/subscribe below):
//   outbox.send({ boardId, itemId, kind: "create"|"update"|"delete", fields, version, key })
//     -> Promise of the server's reply (the item; null for delete) once saved. Rejects only on a
//        final refusal: ApiError 400/403/404/409/412/413/422... (412 has .current).
//   - create: sent with "Idempotency-Key: <key>", so a retried create never makes two notes;
//     until it is saved the note is known as "tmp-<key>": changes queued for that id are sent
//     for the real id once it is known (and so is a version given for the new note).
//   - Consecutive queued updates of one item merge (later fields win, the first's version is
//     kept) while the first is not in flight.
//   - A 412 whose current item already has every field we sent counts as saved (the first
//     attempt went through and its reply was lost); so does a 404 for a delete.
//   - A conflict (412) stays in the queue with state "conflict" (kept across a reload, so
//     the typed text is never lost) until the board sends another change of that item, or
//     calls drop(key).
//   - Two tabs of one user share the stored queue: each writes its own entries and keeps the
//     others' (a reload sends them all; a create's key and the 412 rule above make a change
//     sent by two tabs count once).
//   - After an update saves, later queued changes of that item based on the version it was
//     sent with are sent with the new version (our own write is no conflict); after one sent
//     without a version (last-writer-wins), those based on the version just before its reply's.
import { request, ApiError, isTransient, reachability } from "./api.js";

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;
const MAX_QUEUE = 5000;  // changes kept at most; beyond, send() refuses (413-like ApiError)

const STORE_PREFIX = "teamboard.outbox.";

function newKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
}

function storage() {
  try { return globalThis.localStorage || null; } catch (_) { return null; }
}

// Does the item `current` already hold every field of `fields`?
function holds(current, fields) {
  if (!current || !fields) return false;
  return Object.keys(fields).every((k) => k in current && JSON.stringify(current[k]) === JSON.stringify(fields[k]));
}

class Outbox {
  constructor() {
    this.userId = null;
    this.queue = [];            // entries in send order
    this.waiters = new Map();   // key -> [{resolve, reject}] (not kept across a reload)
    this.ids = new Map();       // "tmp-<key>" -> real id
    this.done = new Set();      // keys this page settled (kept out of the stored queue)
    this.fns = new Set();
    this.timer = null;
    this.delay = FIRST_DELAY_MS;
    this.busy = false;
    this.generation = 0;
    this._online = true;
    this.onlineFns = new Set();
    this.onBrowserOnline = () => this.retryNow();
  }

  get online() { return this._online; }

  // fn(online) whenever outbox.online changes; returns an unsubscribe function.
  watchOnline(fn) {
    this.onlineFns.add(fn);
    return () => this.onlineFns.delete(fn);
  }

  setOnline(v) {
    if (v === this._online) return;
    this._online = v;
    for (const fn of [...this.onlineFns]) fn(v);
  }

  // ---- lifecycle
  start(userId) {
    if (this.userId === userId && this.userId !== null) return;
    this.stop();
    this.userId = userId;
    this.generation++;
    const st = storage();
    let saved = null;
    try { saved = st ? JSON.parse(st.getItem(STORE_PREFIX + userId) || "null") : null; } catch (_) { saved = null; }
    if (saved && Array.isArray(saved.queue)) {
      this.queue = saved.queue.filter((e) => e && e.key && e.kind).map((e) => ({ ...e, state: e.state === "conflict" ? "conflict" : "queued" }));
      this.ids = new Map(Object.entries(saved.ids || {}));
    }
    if (globalThis.addEventListener) globalThis.addEventListener("online", this.onBrowserOnline);
    this.kick(0);
  }

  // At sign-out: nothing more is sent; the stored queue stays for this user's next sign-in.
  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    if (globalThis.removeEventListener) globalThis.removeEventListener("online", this.onBrowserOnline);
    this.generation++;
    this.userId = null;
    this.queue = [];
    this.ids = new Map();
    this.done = new Set();
    this.busy = false;
    this.delay = FIRST_DELAY_MS;
    this.setOnline(true);
  }

  // Writes this page's queue, keeping the entries other tabs of this user stored (those this
  // page has not settled itself): two tabs share one stored queue.
  save() {
    const st = storage();
    if (!st || this.userId === null) return;
    let stored = null;
    try { stored = JSON.parse(st.getItem(STORE_PREFIX + this.userId) || "null"); } catch (_) { stored = null; }
    const mine = new Set(this.queue.map((e) => e.key));
    const others = (stored && Array.isArray(stored.queue) ? stored.queue : [])
      .filter((e) => e && !mine.has(e.key) && !this.done.has(e.key));
    const ids = Object.fromEntries([...this.ids].filter(([tmp]) => this.queue.some((e) => e.key === tmp.slice(4) || e.itemId === tmp)));
    const queue = others.concat(this.queue.map(({ key, boardId, itemId, kind, fields, version, state }) => ({ key, boardId, itemId, kind, fields, version, state })));
    try {
      if (queue.length) st.setItem(STORE_PREFIX + this.userId, JSON.stringify({ queue, ids }));
      else st.removeItem(STORE_PREFIX + this.userId);
    } catch (_) { /* storage full or off: the queue still lives in this page */ }
  }

  // ---- the contract
  send({ boardId, itemId = null, kind, fields, version, key } = {}) {
    if (!["create", "update", "delete"].includes(kind) || !boardId) {
      return Promise.reject(new ApiError(400, "bad_request", "outbox: bad change"));
    }
    if (this.queue.length >= MAX_QUEUE) return Promise.reject(new ApiError(413, "too_large", "outbox full"));
    if (kind === "create") itemId = null;
    else itemId = this.resolveId(itemId);
    return new Promise((resolve, reject) => {
      // A new change of an item settles that item's conflicts (the board has decided).
      if (itemId !== null) this.dropWhere((e) => e.state === "conflict" && e.itemId === itemId, "superseded");
      const last = itemId === null ? null : this.lastOf(itemId);
      // An update of a note whose create has not been sent yet rides along with the create.
      if (kind === "update" && last && (last.kind === "update" || last.kind === "create") && last.state === "queued") {
        last.fields = { ...last.fields, ...fields };
        this.waiters.get(last.key).push({ resolve, reject });
        this.save();
        this.emit(last, "queued");
        return;
      }
      const e = {
        key: key || newKey(), boardId: Number(boardId), itemId, kind,
        fields: fields || {}, version: version === null ? undefined : version, state: "queued",
      };
      this.queue.push(e);
      this.waiters.set(e.key, [{ resolve, reject }]);
      this.save();
      this.emit(e, "queued");
      this.kick(0);
    });
  }

  // [{ key, itemId, kind, fields, state }] of a board, in send order.
  pending(boardId) {
    return this.queue.filter((e) => e.boardId === Number(boardId))
      .map(({ key, itemId, kind, fields, state }) => ({ key, itemId: this.resolveId(itemId), kind, fields: { ...fields }, state }));
  }

  subscribe(fn) {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }

  retryNow() {
    if (this.userId === null) return;
    this.delay = FIRST_DELAY_MS;
    this.kick(0);
  }

  // Forgets a queued or conflicting change (its promise, if any, rejects with status 0 "dropped").
  drop(key) {
    this.dropWhere((e) => e.key === key && e.state !== "sending", "dropped");
  }

  // The real id of "tmp-<key>" once its create is saved, else the id itself.
  resolveId(id) {
    if (typeof id === "string" && this.ids.has(id)) return this.ids.get(id);
    return id;
  }

  // ---- internals
  lastOf(itemId) {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const e = this.queue[i];
      if (e.itemId === itemId || (e.kind === "create" && `tmp-${e.key}` === itemId)) return e;
    }
    return null;
  }

  dropWhere(pred, why) {
    const gone = this.queue.filter(pred);
    if (!gone.length) return;
    this.queue = this.queue.filter((e) => !pred(e));
    for (const e of gone) this.forget(e);
    for (const e of gone) this.settle(e, "failed", { error: new ApiError(0, why, "outbox: " + why) });
    this.save();
  }

  emit(e, state, extra = {}) {
    const msg = { boardId: e.boardId, itemId: this.resolveId(e.itemId), key: e.key, kind: e.kind, state, error: null, reply: null, ...extra };
    for (const fn of [...this.fns]) {
      try { fn(msg); } catch (err) { setTimeout(() => { throw err; }); }
    }
  }

  // An entry is out of this page's queue for good: keep it out of the stored one too.
  forget(e) {
    this.done.add(e.key);
    if (this.done.size > 10000) this.done.delete(this.done.values().next().value);
  }

  // Ends an entry's promise(s) and tells the subscribers.
  settle(e, state, { reply = null, error = null } = {}) {
    const ws = this.waiters.get(e.key) || [];
    this.waiters.delete(e.key);
    for (const w of ws) {
      if (state === "saved") w.resolve(reply);
      else w.reject(error);
    }
    this.emit(e, state, { reply, error });
  }

  kick(ms) {
    if (this.userId === null) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.timer = null; this.pump(); }, ms);
  }

  next() {
    return this.queue.find((e) => e.state === "queued") || null;
  }

  async pump() {
    if (this.busy || this.userId === null) return;
    const gen = this.generation;
    this.busy = true;
    try {
      for (let e = this.next(); e && gen === this.generation; e = this.next()) {
        // A change of a note whose create is still queued waits for it (it is earlier in the queue).
        if (typeof e.itemId === "string" && e.itemId.startsWith("tmp-")) {
          const real = this.ids.get(e.itemId);
          if (real === undefined) {
            if (!this.queue.some((c) => c.kind === "create" && `tmp-${c.key}` === e.itemId)) {
              this.queue = this.queue.filter((x) => x !== e);
              this.forget(e);
              this.save();
              this.settle(e, "failed", { error: new ApiError(404, "not_found", "its note was never created") });
            }
            break;
          }
          e.itemId = real;
        }
        const again = await this.attempt(e, gen);
        if (again) return;  // a retry is scheduled
      }
    } finally {
      if (gen === this.generation) this.busy = false;
    }
  }

  // Sends one entry; true when it must be tried again later (and a timer is set).
  async attempt(e, gen) {
    e.state = "sending";
    this.emit(e, "sending");
    let reply;
    let error = null;
    try {
      reply = await this.request(e);
    } catch (err) {
      error = err;
    }
    if (gen !== this.generation) return true;
    if (error && error.status === 412 && e.kind !== "delete" && holds(error.current, e.fields)) {
      reply = error.current;
      error = null;
    }
    if (error && error.status === 404 && e.kind === "delete") error = null;
    if (error && (!(error instanceof ApiError) || isTransient(error.status))) {
      e.state = "queued";
      // 503 busy (too many large replies to this address at once) comes from a server that
      // answers and saves: not "not saving", no banner; its Retry-After is waited out below.
      this.setOnline(!(error.status === 0 || (error.status >= 500 && error.code !== "busy")));
      const wait = Math.max(error.retryAfter ? error.retryAfter * 1000 : 0, this.delay * (0.8 + 0.4 * Math.random()));
      this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
      this.emit(e, "queued", { error });
      this.kick(Math.min(wait, 120000));
      return true;
    }
    this.setOnline(true);
    this.delay = FIRST_DELAY_MS;
    if (error) {
      if (error.status === 412) {
        e.state = "conflict";
        this.save();
        this.settle(e, "conflict", { error });
      } else {
        this.queue = this.queue.filter((x) => x !== e);
        this.forget(e);
        this.save();
        this.settle(e, "failed", { error });
      }
      return false;
    }
    this.queue = this.queue.filter((x) => x !== e);
    this.forget(e);
    this.after(e, reply);
    this.save();
    this.settle(e, "saved", { reply: reply === undefined ? null : reply });
    return false;
  }

  // Follow-ups of a saved entry: the real id of a created note, the new version of an update.
  after(e, reply) {
    if (!reply || typeof reply !== "object") return;
    if (e.kind === "create" && reply.id !== undefined) {
      const tmp = `tmp-${e.key}`;
      this.ids.set(tmp, reply.id);
      for (const f of this.queue) {
        if (f.itemId !== tmp) continue;
        f.itemId = reply.id;
        if (f.version !== undefined) f.version = reply.version;
      }
    } else if (e.kind === "update" && e.version !== undefined && reply.version !== undefined) {
      for (const f of this.queue) {
        if (f.itemId === e.itemId && f.version !== undefined && f.version <= e.version) f.version = reply.version;
      }
    } else if (e.kind === "update" && reply.version !== undefined) {
      // Our own last-writer-wins write (a move, a resize, bring to front) moved the version on by
      // one: changes based on the version just before it follow it. Based on an older one, someone
      // else's change came between, and the server decides (a conflict if it touched the same).
      for (const f of this.queue) {
        if (f !== e && f.itemId === e.itemId && f.version === reply.version - 1) f.version = reply.version;
      }
    }
  }

  request(e) {
    const base = `/boards/${e.boardId}/items`;
    if (e.kind === "create") {
      return request("POST", base, { body: e.fields, headers: { "Idempotency-Key": e.key } });
    }
    if (e.kind === "update") return request("PATCH", `${base}/${e.itemId}`, { body: e.fields, version: e.version });
    return request("DELETE", `${base}/${e.itemId}`, { version: e.version });
  }
}

export { Outbox };
export const outbox = new Outbox();

// Network errors and gateway errors elsewhere in the page say the same as a failed send.
reachability.watch((ok) => { if (ok && !outbox.online) outbox.retryNow(); });
