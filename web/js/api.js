// REST client for /api/v1 (docs/api-contract.txt). Every call is same-origin with the session
// cookie; writes carry If-Match when a version is given. Errors become ApiError with a sentence
// for people (errors.js), never raw JSON. Every reply (or its absence) also tells whether the
// server is reachable (reachability below: the shell's offline banner and the outbox use it).
// GET of a list can be conditional (getCached: If-None-Match, 304 keeps the copy). A GET answered
// 503 busy is tried again after Retry-After (see BUSY_TRIES).
import { describeError } from "./errors.js";

// The API lives beside the page: <dir of index.html>/api/v1.
export const API_BASE = new URL("api/v1", (globalThis.document && document.baseURI) || "http://localhost/").pathname;

// ---- reachability: false after a request failed for the network or a 502/503/504 without an
// API error body (a web server in front whose backend is gone), true after any other reply.
const reach = { ok: true, fns: new Set() };
export const reachability = {
  get ok() { return reach.ok; },
  // fn(ok) on every change; returns an unsubscribe function.
  watch(fn) { reach.fns.add(fn); return () => reach.fns.delete(fn); },
  set(ok) {
    if (ok === reach.ok) return;
    reach.ok = ok;
    for (const fn of [...reach.fns]) {
      try { fn(ok); } catch (e) { setTimeout(() => { throw e; }); }
    }
  },
};

// Statuses after which the same request may succeed later unchanged (the outbox retries them).
export function isTransient(status) {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

export class ApiError extends Error {
  constructor(status, code, serverMessage, body) {
    super(describeError(code, serverMessage, status, body));
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.serverMessage = serverMessage || "";
    this.body = body || null;
  }
  // 412: the object as it is now on the server.
  get current() {
    return this.body && this.body.current ? this.body.current : null;
  }
}

let onUnauthorized = null;
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

// 503 busy: the server is writing too many large (> 256 KiB) replies to this address at once
// (docs/operations.md, max_large_replies_per_address) and answers one more at once, with
// Retry-After: 1. That is no failure: a GET (reads only; writes are not repeated here, the outbox
// retries the ones it sends) is tried again after Retry-After, capped at BUSY_MAX_WAIT_S, plus up
// to a quarter more at random so that tabs refused together do not come back together;
// BUSY_TRIES tries in all, then the busy ApiError is thrown ("The server is busy...").
const BUSY_TRIES = 3;
const BUSY_MAX_WAIT_S = 5;

function busyWaitMs(retryAfter) {
  const s = Math.min(Math.max(retryAfter || 1, 1), BUSY_MAX_WAIT_S);
  return s * 1000 * (1 + 0.25 * Math.random());
}

// opts: body (JSON), version (If-Match), quiet401 (no session-ended handler), headers (extra),
// raw (resolve with {status, data, headers} for 2xx and 304 instead of the data).
export async function request(method, path, opts = {}) {
  for (let tries = 1; ; tries++) {
    try {
      return await requestOnce(method, path, opts);
    } catch (e) {
      if (method !== "GET" || tries >= BUSY_TRIES || !(e instanceof ApiError && e.status === 503 && e.code === "busy")) throw e;
      await new Promise((resolve) => setTimeout(resolve, busyWaitMs(e.retryAfter)));
    }
  }
}

async function requestOnce(method, path, { body, version, quiet401 = false, headers: extra, raw = false } = {}) {
  const headers = { Accept: "application/json", ...(extra || {}) };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (version !== undefined && version !== null) headers["If-Match"] = `"${version}"`;
  let resp;
  try {
    resp = await fetch(API_BASE + path, init);
  } catch (e) {
    reachability.set(false);
    throw new ApiError(0, "network", String(e && e.message));
  }
  if (raw && resp.status === 304) {
    reachability.set(true);
    return { status: 304, data: null, headers: resp.headers };
  }
  if (resp.status === 204) {
    reachability.set(true);
    return raw ? { status: 204, data: null, headers: resp.headers } : null;
  }
  let data = null;
  const type = resp.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
  }
  // A gateway error without the API's own error body: the server behind is unreachable.
  reachability.set(!((resp.status === 502 || resp.status === 503 || resp.status === 504) && !(data && data.error)));
  if (resp.ok) return raw ? { status: resp.status, data, headers: resp.headers } : data;
  const err = data && data.error ? data.error : {};
  const e = new ApiError(resp.status, err.code || "http_" + resp.status, err.message, data);
  e.retryAfter = Number(resp.headers.get("Retry-After")) || 0;
  if (resp.status === 401 && !quiet401 && onUnauthorized) onUnauthorized(e);
  throw e;
}

// A GET whose reply is kept with its ETag: the next call sends If-None-Match, and a 304 returns
// the kept copy. Resolves with {data, changed}. Copies are per path, in memory, cleared on
// sign-out (forgetCached).
const cached = new Map();  // path -> {etag, data}
export async function getCached(path) {
  const had = cached.get(path);
  const r = await request("GET", path, { raw: true, headers: had ? { "If-None-Match": had.etag } : undefined });
  if (r.status === 304 && had) return { data: had.data, changed: false };
  const etag = r.headers.get("ETag");
  if (etag) cached.set(path, { etag, data: r.data });
  else cached.delete(path);
  return { data: r.data, changed: !had || JSON.stringify(had.data) !== JSON.stringify(r.data) };
}
export function forgetCached() {
  cached.clear();
}

export const api = {
  me: () => request("GET", "/me", { quiet401: true }),
  signUp: (name, password, displayName) =>
    request("POST", "/users", { body: displayName ? { name, password, display_name: displayName } : { name, password } }),
  signIn: (name, password) =>
    request("POST", "/sessions", { body: { name, password }, quiet401: true }),
  signOut: () => request("DELETE", "/sessions/current", { quiet401: true }),

  teams: () => request("GET", "/teams"),
  team: (id) => request("GET", `/teams/${id}`),
  createTeam: (name) => request("POST", "/teams", { body: { name } }),
  addMember: (teamId, name, role) =>
    request("POST", `/teams/${teamId}/members`, { body: { name, role } }),
  setRole: (teamId, userId, role) =>
    request("PATCH", `/teams/${teamId}/members/${userId}`, { body: { role } }),
  removeMember: (teamId, userId) => request("DELETE", `/teams/${teamId}/members/${userId}`),
  // Invite links (docs/api.md, "Invite links"): a team admin's, and the link holder's.
  invites: (teamId) => request("GET", `/teams/${teamId}/invites`),
  createInvite: (teamId, fields) => request("POST", `/teams/${teamId}/invites`, { body: fields }),
  revokeInvite: (teamId, inviteId) => request("DELETE", `/teams/${teamId}/invites/${inviteId}`),
  invite: (token) => request("GET", `/invites/${token}`, { quiet401: true }),
  acceptInvite: (token) => request("POST", `/invites/${token}/accept`),

  boards: () => request("GET", "/boards"),
  board: (id) => loadBoard(id),
  createBoard: (title, teamId) =>
    request("POST", "/boards", { body: teamId ? { title, team_id: teamId } : { title } }),
  renameBoard: (id, title, version) =>
    request("PATCH", `/boards/${id}`, { body: { title }, version }),
  deleteBoard: (id, version) => request("DELETE", `/boards/${id}`, { version }),

  createItem: (boardId, fields) =>
    request("POST", `/boards/${boardId}/items`, { body: fields }),
  updateItem: (boardId, itemId, fields, version) =>
    request("PATCH", `/boards/${boardId}/items/${itemId}`, { body: fields, version }),
  deleteItem: (boardId, itemId, version) =>
    request("DELETE", `/boards/${boardId}/items/${itemId}`, { version }),
  viewers: (boardId) => request("GET", `/boards/${boardId}/viewers`),

  // The trash (docs/api.md, "Trash"): a board's deleted notes, the boards the caller may restore.
  boardTrash: (boardId) => request("GET", `/boards/${boardId}/trash`),
  restoreItem: (boardId, itemId) => request("POST", `/boards/${boardId}/items/${itemId}/restore`),
  trash: () => request("GET", "/trash"),
  restoreBoard: (id) => request("POST", `/boards/${id}/restore`),

  // Undo and redo (docs/api.md, "Undo and redo"): the caller's own note changes on a board.
  undoState: (boardId) => request("GET", `/boards/${boardId}/undo`),
  undo: (boardId) => request("POST", `/boards/${boardId}/undo`),
  redo: (boardId) => request("POST", `/boards/${boardId}/redo`),

  // Time travel (docs/api.md, "GET /boards/:id/history" and after): a past state, restoring it,
  // a page of the event log (the JSON poll), and the seq this user last saw ("since your last visit").
  boardHistory: (boardId, seq) => request("GET", `/boards/${boardId}/history?seq=${seq}`),
  restoreVersion: (boardId, seq) => request("POST", `/boards/${boardId}/history/restore`, { body: { seq } }),
  boardEvents: (boardId, after, limit) => request("GET", `/boards/${boardId}/events?after=${after}&limit=${limit}`),
  visit: (boardId) => request("GET", `/boards/${boardId}/visit`),
  reportVisit: (boardId, seq) => request("POST", `/boards/${boardId}/visit`, { body: { seq } }),

  // The account: password change (ends every other session), deletion, a reset link's password.
  changePassword: (current, next) =>
    request("PATCH", "/users/me", { body: { password: { current, new: next } } }),
  setDisplayName: (displayName) => request("PATCH", "/users/me", { body: { display_name: displayName } }),
  deleteAccount: (password) => request("DELETE", "/users/me", { body: { password } }),
  resetPassword: (token, password) =>
    request("POST", `/password-resets/${token}`, { body: { password }, quiet401: true }),

  // Public read-only links (docs/api.md, "Public links"): the board's owner or a team admin makes,
  // lists and deletes them; publicBoard reads a page of a board through a link (path:
  // /public/boards/<token>[?items_after=...]), with no session.
  links: (boardId) => request("GET", `/boards/${boardId}/links`),
  createLink: (boardId) => request("POST", `/boards/${boardId}/links`),
  deleteLink: (boardId, linkId) => request("DELETE", `/boards/${boardId}/links/${linkId}`),
  publicBoard: (path) => request("GET", path, { quiet401: true }),
};

// GET /boards/:id with all its items. A board whose reply would pass the server's max_reply comes
// in pages (docs/api.md): the first page has the board and its last_event_id, each page ends
// with items_more / items_next while notes are left. A note changed between two page reads is
// in the events after last_event_id, which the live view applies anyway; a note read twice
// keeps its newer version.
async function loadBoard(id) {
  const board = await request("GET", `/boards/${id}`);
  const byId = new Map(board.items.map((it) => [it.id, it]));
  let page = board;
  for (let n = 0; page.items_more && n < 100000; n++) {
    page = await request("GET", `/boards/${id}?items_after=${encodeURIComponent(page.items_next)}`);
    for (const it of page.items) {
      const had = byId.get(it.id);
      if (!had || had.version < it.version) byId.set(it.id, it);
    }
  }
  board.items = [...byId.values()];
  delete board.items_more;
  delete board.items_next;
  return board;
}
