// Tab side of the live updates. All tabs of a browser share one Hub (hub.js):
//   "shared"    a SharedWorker (default where the browser has it);
//   "broadcast" a leader tab elected with the Web Locks API runs the Hub, the others talk to it
//               over a BroadcastChannel (browsers without SharedWorker, e.g. Chrome on Android);
//   "page"      each tab runs its own Hub (last resort).
// localStorage "teamboard.live" = shared|broadcast|page forces one (used by the tests).
import { Hub } from "./hub.js";
import { API_BASE } from "./api.js";

const PING_MS = 4000;
const listeners = new Map();  // board -> Set<handler>
const sinceOf = new Map();    // board -> the highest seq handed to this tab
const stateOf = new Map();    // board -> its feed's last state ("live", "offline", ...)
const stateFns = new Set();   // watchStates() listeners
let transport = null;

// fn(states: Map board -> state) whenever a subscribed board's feed changes state (the shell's
// offline banner). Returns an unsubscribe function.
export function watchStates(fn) {
  stateFns.add(fn);
  return () => stateFns.delete(fn);
}

function statesChanged() {
  for (const fn of [...stateFns]) {
    try { fn(new Map(stateOf)); } catch (e) { setTimeout(() => { throw e; }); }
  }
}

function dispatch(msg) {
  if (msg && msg.kind === "worker-error") {
    console.error(`Teamboard live updates (shared worker): ${msg.message}`);
    return;
  }
  if (!msg || msg.board === undefined) return;
  const set = listeners.get(Number(msg.board));
  if (!set) return;
  if (msg.kind === "event") {
    const prev = sinceOf.get(msg.board) || 0;
    if (msg.seq > prev) sinceOf.set(msg.board, msg.seq);
  } else if (msg.kind === "state" && stateOf.get(Number(msg.board)) !== msg.state) {
    stateOf.set(Number(msg.board), msg.state);
    statesChanged();
  }
  for (const h of [...set]) h(msg);
}

function chooseMode() {
  let forced = null;
  try { forced = localStorage.getItem("teamboard.live"); } catch (_) { forced = null; }
  if (forced === "shared" && typeof SharedWorker === "function") return "shared";
  if (forced === "broadcast" && canBroadcast()) return "broadcast";
  if (forced === "page") return "page";
  if (typeof SharedWorker === "function") return "shared";
  if (canBroadcast()) return "broadcast";
  return "page";
}

function canBroadcast() {
  return typeof BroadcastChannel === "function" && navigator.locks &&
    typeof navigator.locks.request === "function";
}

// The cap on streams open at once in this browser (hub.js); localStorage
// "teamboard.maxStreams" overrides it (the tests raise it to reach the server's own limit).
function maxStreams() {
  try { return Number(localStorage.getItem("teamboard.maxStreams")) || undefined; } catch (_) { return undefined; }
}

function subsList() {
  return [...listeners.keys()].map((board) => ({ board, since: sinceOf.get(board) || 0, api: API_BASE, maxStreams: maxStreams() }));
}

// ---- transports: each has send(msg)
function pageTransport() {
  const hub = new Hub();
  const port = { post: (m) => queueMicrotask(() => dispatch(m)) };
  return { mode: "page", send: (m) => hub.handle(port, m) };
}

function sharedTransport() {
  let worker;
  try {
    worker = new SharedWorker(new URL("./live-worker.js", import.meta.url),
      { type: "module", name: "teamboard-live" });
  } catch (e) {
    return null;
  }
  const port = worker.port;
  port.onmessage = (ev) => dispatch(ev.data);
  port.start();
  const t = { mode: "shared", send: (m) => port.postMessage(m) };
  worker.onerror = () => {
    // The worker could not start: fall back to a hub in this page and resubscribe.
    if (transport !== t) return;
    transport = pageTransport();
    for (const s of subsList()) transport.send({ op: "sub", ...s });
  };
  return t;
}

function broadcastTransport() {
  const tabId = Math.random().toString(36).slice(2) + Date.now().toString(36);
  const ch = new BroadcastChannel("teamboard-live");
  const t = { mode: "broadcast", leader: false, hub: null, send: null };
  const remotePorts = new Map();  // tab id -> port (leader only)
  const localPort = { post: (m) => queueMicrotask(() => dispatch(m)) };

  t.send = (m) => {
    if (t.leader) t.hub.handle(localPort, m);
    else ch.postMessage({ to: "leader", from: tabId, msg: m });
  };
  ch.onmessage = (ev) => {
    const d = ev.data || {};
    if (d.to === tabId) {
      dispatch(d.msg);
    } else if (d.to === "leader" && t.leader) {
      let port = remotePorts.get(d.from);
      if (!port) {
        port = { post: (m) => ch.postMessage({ to: d.from, msg: m }) };
        remotePorts.set(d.from, port);
      }
      t.hub.handle(port, d.msg);
      if (d.msg && d.msg.op === "bye") remotePorts.delete(d.from);
    } else if (d.to === "all" && d.msg && d.msg.op === "new-leader" && !t.leader) {
      // A new hub: tell it what this tab listens to.
      for (const s of subsList()) t.send({ op: "sub", ...s });
    }
  };
  navigator.locks.request("teamboard-live-leader", () => {
    t.leader = true;
    t.hub = new Hub();
    for (const s of subsList()) t.hub.handle(localPort, { op: "sub", ...s });
    ch.postMessage({ to: "all", msg: { op: "new-leader" } });
    return new Promise(() => {});  // held until this tab goes away
  });
  return t;
}

function getTransport() {
  if (transport) return transport;
  const mode = chooseMode();
  if (mode === "shared") transport = sharedTransport();
  if (!transport && mode !== "page" && canBroadcast()) transport = broadcastTransport();
  if (!transport) transport = pageTransport();
  setInterval(() => {
    if (listeners.size) transport.send({ op: "ping", subs: subsList() });
  }, PING_MS);
  window.addEventListener("pagehide", () => transport.send({ op: "bye" }));
  return transport;
}

export function liveMode() {
  return getTransport().mode;
}

// Subscribes handler(msg) to a board's live messages, starting after seq `since` (the board's
// last_event_id when it was loaded). Returns a function that unsubscribes.
export function subscribe(board, since, handler) {
  board = Number(board);
  const t = getTransport();
  let set = listeners.get(board);
  if (!set) {
    set = new Set();
    listeners.set(board, set);
  }
  set.add(handler);
  sinceOf.set(board, Number(since) || 0);
  t.send({ op: "sub", board, since: Number(since) || 0, api: API_BASE, maxStreams: maxStreams() });
  return () => {
    const s = listeners.get(board);
    if (!s) return;
    s.delete(handler);
    if (s.size === 0) {
      listeners.delete(board);
      sinceOf.delete(board);
      if (stateOf.delete(board)) statesChanged();
      t.send({ op: "unsub", board });
    }
  };
}

// After sign-out: every feed of this browser stops (they would be refused anyway).
export function signOutAll() {
  if (transport) transport.send({ op: "signout" });
}
