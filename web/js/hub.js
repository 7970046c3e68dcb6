// The hub shares ONE Feed per board between all the tabs of a browser (the browser allows only
// six HTTP/1.1 connections per host, so eight tabs with a stream each would hang). It runs in
// the SharedWorker (live-worker.js), or in the leader tab (live.js, BroadcastChannel + Web
// Locks), or in the page itself.
//
// A port is {post(msg)}; the hub gets hub.handle(port, msg) and hub.drop(port).
// Tab -> hub: {op:"sub", board, since, api} | {op:"unsub", board} | {op:"ping", subs:[{board, since, api}]}
//             | {op:"bye"} | {op:"signout"}
// Hub -> tab: {kind:"state"|"event"|"presence"|"control", board, ...} (see feed.js)
import { Feed } from "./feed.js";

// Control messages after which the feed has stopped; the others ("resumed", "editing",
// "editing.end") are passed on like events, without being kept for later tabs.
const STOPPED = new Set(["revoked", "reset", "unauthorized"]);
const BUFFER = 2000;         // events kept per board for tabs that subscribe later
const IDLE_CLOSE_MS = 1500;  // a feed nobody listens to is closed after this
// Streams open at once in this browser. Browsers allow six HTTP/1.1 connections per host: with
// more streams than that, every other request of every tab would wait. Boards beyond the cap are
// polled, and streamed again when a slot frees. A tab may ask for another cap ("maxStreams").
const MAX_STREAMS = 4;
// A tab that has not pinged for this long is gone (background tabs' timers may run only once a
// minute; a dropped tab that pings again is subscribed again).
const PORT_TIMEOUT_MS = 90000;


const BUSY_TRIES = 3;

// One page of the event log. A 503 with Retry-After (a JSON poll counts against the stream
// limits: 503 too_many_streams while this browser's other boards hold the places) is waited out
// and asked again, BUSY_TRIES times at most, at most 5 s each.
async function fetchPage(url) {
  for (let i = 1; ; i++) {
    const r = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" });
    const wait = Number(r.headers.get("Retry-After"));
    if (r.status !== 503 || !(wait >= 0) || i >= BUSY_TRIES) return r;
    await new Promise((ok) => setTimeout(ok, 1000 * Math.min(wait || 1, 5)));
  }
}
export class Hub {
  constructor() {
    this.boards = new Map();  // board id -> entry
    this.ports = new Map();   // port -> {subs: Set<board>, seen: ms}
    this.maxStreams = MAX_STREAMS;
    this.reaper = setInterval(() => this.reap(), 5000);
  }

  handle(port, msg) {
    if (!msg || typeof msg !== "object") return;
    const p = this.portInfo(port);
    p.seen = Date.now();
    switch (msg.op) {
      case "sub":
        if (Number(msg.maxStreams) > 0) this.maxStreams = Number(msg.maxStreams);
        this.subscribe(port, Number(msg.board), Number(msg.since) || 0, msg.api);
        break;
      case "unsub":
        this.unsubscribe(port, Number(msg.board));
        break;
      case "ping":
        // Heals a hub that restarted (new leader tab) or lost a subscription.
        for (const s of msg.subs || []) {
          const b = Number(s.board);
          if (!p.subs.has(b)) this.subscribe(port, b, Number(s.since) || 0, s.api);
        }
        break;
      case "bye":
        this.drop(port);
        break;
      case "signout":
        for (const [board, e] of this.boards) {
          e.feed.close();
          e.ports.forEach((q) => q.post({ kind: "control", board, type: "unauthorized", data: {} }));
          e.ports.clear();
        }
        this.boards.clear();
        for (const info of this.ports.values()) info.subs.clear();
        break;
      default:
        break;
    }
  }

  portInfo(port) {
    let p = this.ports.get(port);
    if (!p) {
      p = { subs: new Set(), seen: Date.now() };
      this.ports.set(port, p);
    }
    return p;
  }

  drop(port) {
    const p = this.ports.get(port);
    if (!p) return;
    for (const b of [...p.subs]) this.unsubscribe(port, b);
    this.ports.delete(port);
  }

  reap() {
    const now = Date.now();
    for (const [port, p] of this.ports) {
      if (now - p.seen > PORT_TIMEOUT_MS) this.drop(port);
    }
  }

  subscribe(port, board, since, api) {
    if (!board) return;
    const p = this.portInfo(port);
    p.subs.add(board);
    let e = this.boards.get(board);
    if (!e) {
      e = this.newEntry(board, since, api);
    }
    clearTimeout(e.idleTimer);
    e.ports.add(port);
    port.post({ kind: "state", board, state: e.feed.state, mode: e.feed.mode });
    if (e.feed.viewers) port.post({ kind: "presence", board, viewers: e.feed.viewers });
    if (since < e.from) {
      // The tab's snapshot is older than what this feed has kept: fetch the gap for it alone.
      this.catchUp(port, e, since);
    } else {
      for (const ev of e.buffer) if (ev.seq > since) port.post(ev);
    }
  }

  newEntry(board, since, api) {
    const e = {
      board, api, ports: new Set(), buffer: [], from: since, idleTimer: null, feed: null,
    };
    e.feed = new Feed(api, board, since, (msg) => this.onFeed(e, msg), {
      allowStream: () => this.streaming() < this.maxStreams,
    });
    this.boards.set(board, e);
    e.feed.start();
    return e;
  }

  streaming() {
    let n = 0;
    for (const e of this.boards.values()) if (e.feed.es) n++;
    return n;
  }

  // A stream slot is free: the longest-waiting capped board streams again.
  promote() {
    for (const e of this.boards.values()) {
      if (this.streaming() >= this.maxStreams) return;
      if (e.feed.polling && e.feed.pollReason === "capped" && !e.feed.es) {
        // The server may still count the stream that just ended for a few seconds (it notices a
        // client is gone on its next write): if it refuses this one, try again soon.
        e.feed.streamRetryMs = 5000;
        e.feed.openStream();
      }
    }
  }

  forget(e) {
    if (this.boards.get(e.board) === e) this.boards.delete(e.board);
    setTimeout(() => this.promote(), 0);
  }

  // Sends a tab that joins late what it missed: the log from `since` up to where the shared feed
  // started, then the feed's buffer.
  async catchUp(port, e, since) {
    let after = since;
    const upTo = e.from;
    try {
      while (after < upTo) {
        const r = await fetchPage(`${e.api}/boards/${e.board}/events?after=${after}&limit=1000`);
        if (r.status !== 200) break;
        const d = await r.json();
        if (!d.events || !d.events.length) break;
        for (const ev of d.events) {
          if (ev.seq > upTo) break;
          port.post({ kind: "event", board: e.board, seq: ev.seq, type: ev.type, data: ev });
          after = ev.seq;
        }
        if (!d.more) break;
      }
    } catch (_) { /* the tab reloads on its own if it notices a gap */ }
    for (const ev of e.buffer) if (ev.seq > since) port.post(ev);
  }

  unsubscribe(port, board) {
    const p = this.ports.get(port);
    if (p) p.subs.delete(board);
    const e = this.boards.get(board);
    if (!e) return;
    e.ports.delete(port);
    if (e.ports.size === 0) {
      clearTimeout(e.idleTimer);
      e.idleTimer = setTimeout(() => {
        if (e.ports.size === 0 && this.boards.get(board) === e) {
          e.feed.close();
          this.forget(e);
        }
      }, IDLE_CLOSE_MS);
    }
  }

  onFeed(e, msg) {
    const out = { ...msg, board: e.board };
    if (msg.kind === "event") {
      e.buffer.push(out);
      if (e.buffer.length > BUFFER) {
        const gone = e.buffer.shift();
        e.from = gone.seq;
      }
    }
    if (msg.kind === "control" && STOPPED.has(msg.type)) {
      // The feed stopped (revoked, reset, unauthorized): forget it. Tabs that resubscribe
      // (after reloading the board) get a new one.
      this.forget(e);
      for (const port of e.ports) {
        const p = this.ports.get(port);
        if (p) p.subs.delete(e.board);
      }
    }
    for (const port of e.ports) port.post(out);
  }
}
