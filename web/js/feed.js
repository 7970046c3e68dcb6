// One board's live feed (docs/events-contract.txt): an EventSource on
// GET <api>/boards/:id/events?last_event_id=N, falling back to polling
// GET <api>/boards/:id/events?after=N (Accept: application/json) when the stream is refused
// (503 too_many_streams) or keeps failing, while trying to stream again now and then.
// Runs wherever EventSource runs: in the SharedWorker, in a leader tab, or in a page.
//
// emit(msg) receives:
//   {kind:"state", state: "connecting"|"live"|"reconnecting"|"offline", mode: "stream"|"poll"}
//   {kind:"event", seq, type, data}          every event with an id, once, in seq order
//   {kind:"presence", viewers}
//   {kind:"control", type: "revoked"|"reset"|"unauthorized", data}   the feed has stopped
//   {kind:"control", type: "resumed", data: {awayMs, count, itemIds, actors}}   the feed is live
//       again after an outage of more than RESUMED_AFTER_MS and has caught up with the events
//       made meanwhile: count of them, the distinct ids of the notes they touched, the distinct
//       names of the people who made them (the board says "while you were away: N changes")
//   {kind:"control", type: "editing"|"editing.end", data}   someone opened / closed a note's
//       editor (ephemeral stream events without an id: never replayed, never polled)

export const EVENT_TYPES = [
  "item.created", "item.updated", "item.deleted", "board.updated", "board.deleted",
  "member.added", "member.updated", "member.removed",
];

const POLL_MS = 3000;            // polling period in fallback mode
const STREAM_RETRY_MS = 10000;   // first retry of the stream while polling (the server's Retry-After; doubles up to 2 min)
const STREAM_FAILS_BEFORE_POLL = 3;  // consecutive failed reconnects before polling
const OFFLINE_AFTER_FAILS = 2;   // consecutive failed polls (or reconnects beyond the above) -> offline
const RESUMED_AFTER_MS = 5000;   // an outage longer than this ends with a "resumed" summary
const CATCH_UP_MAX_MS = 30000;   // "resumed" comes at the latest this long after the feed is back
export const EPHEMERAL_TYPES = ["editing", "editing.end"];  // passed on as control messages

export class Feed {
  // opts.allowStream(): false when this browser already holds as many streams as it should
  // (the hub's cap); the feed then polls and tries again later (or when promoted).
  constructor(apiBase, boardId, since, emit, opts = {}) {
    this.allowStream = opts.allowStream || (() => true);
    this.api = apiBase;
    this.boardId = boardId;
    this.lastId = Math.max(0, Number(since) || 0);
    this.emit = emit;
    this.state = "connecting";
    this.mode = "stream";
    this.es = null;
    this.closed = false;
    this.streamFails = 0;
    this.pollFails = 0;
    this.pollTimer = null;
    this.streamRetryTimer = null;
    this.streamRetryMs = STREAM_RETRY_MS;
    this.polling = false;
    // Why polling: "refused" (the server said no to a stream), "network" (it kept dropping),
    // "capped" (this browser has enough streams open already).
    this.pollReason = null;
    this.viewers = null;
    this.wasLive = false;
    this.downSince = null;  // when the feed stopped being live (after it had been)
    this.resume = null;     // {awayMs, events: [], target, timer} while catching up after an outage
  }

  start() {
    this.openStream();
  }

  close() {
    this.closed = true;
    this.closeStream();
    clearTimeout(this.pollTimer);
    clearTimeout(this.streamRetryTimer);
    if (this.resume) clearTimeout(this.resume.timer);
    this.resume = null;
  }

  setState(state, mode = this.mode) {
    if (this.closed) return;
    if (state === this.state && mode === this.mode) return;
    if (state === "live") this.backLive();
    else if (this.wasLive && this.downSince === null) this.downSince = Date.now();
    this.state = state;
    this.mode = mode;
    this.emit({ kind: "state", state, mode });
  }

  // ---- "while you were away"
  // Live again: after a long enough outage, count the events that come in until the feed has
  // caught up with the board's last event (asked once with a poll of one event).
  backLive() {
    this.wasLive = true;
    if (this.downSince === null) return;
    const awayMs = Date.now() - this.downSince;
    this.downSince = null;
    if (awayMs <= RESUMED_AFTER_MS || this.resume) return;
    const r = { awayMs, events: [], target: null, timer: null };
    this.resume = r;
    r.timer = setTimeout(() => this.finishResume(r), CATCH_UP_MAX_MS);
    fetch(`${this.api}/boards/${this.boardId}/events?after=${this.lastId}&limit=1`,
      { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then((resp) => (resp.status === 200 ? resp.json() : null))
      .catch(() => null)
      .then((d) => {
        if (this.resume !== r) return;
        r.target = d && Number.isFinite(Number(d.last_event_id)) ? Number(d.last_event_id) : this.lastId;
        this.checkResumed();
      });
  }

  checkResumed() {
    const r = this.resume;
    if (r && r.target !== null && this.lastId >= r.target) this.finishResume(r);
  }

  finishResume(r) {
    if (this.resume !== r || this.closed) return;
    clearTimeout(r.timer);
    this.resume = null;
    const itemIds = [...new Set(r.events.map((e) => e.itemId).filter((id) => id !== null))];
    const actors = [...new Set(r.events.map((e) => e.actor).filter(Boolean))];
    this.emit({ kind: "control", type: "resumed", data: { awayMs: r.awayMs, count: r.events.length, itemIds, actors } });
  }

  // ---- stream
  closeStream() {
    if (this.es) {
      this.es.onerror = null;
      this.es.onopen = null;
      this.es.close();
      this.es = null;
    }
  }

  openStream() {
    if (this.closed) return;
    if (!this.es && !this.allowStream()) {
      if (!this.polling) {
        this.pollReason = "capped";
        this.startPolling(true);
      }
      return;
    }
    this.closeStream();
    const url = `${this.api}/boards/${this.boardId}/events?last_event_id=${this.lastId}`;
    const es = new EventSource(url, { withCredentials: true });
    this.es = es;
    es.addEventListener("hello", (e) => {
      if (es !== this.es) return;
      let d = {};
      try { d = JSON.parse(e.data); } catch (_) { /* keep {} */ }
      this.streamFails = 0;
      this.pollFails = 0;
      this.streamRetryMs = STREAM_RETRY_MS;
      this.stopPolling();
      this.setState("live", "stream");
      if (Array.isArray(d.viewers)) this.setViewers(d.viewers);
    });
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, (e) => {
        if (es !== this.es) return;
        this.onEvent(type, e.lastEventId, e.data);
      });
    }
    es.addEventListener("presence", (e) => {
      if (es !== this.es) return;
      try {
        const d = JSON.parse(e.data);
        if (Array.isArray(d.viewers)) this.setViewers(d.viewers);
      } catch (_) { /* ignore a malformed presence */ }
    });
    for (const type of EPHEMERAL_TYPES) {
      es.addEventListener(type, (e) => {
        if (es !== this.es) return;
        this.emit({ kind: "control", type, data: parse(e.data) });
      });
    }
    es.addEventListener("revoked", (e) => {
      if (es !== this.es) return;
      this.stop("revoked", parse(e.data));
    });
    es.addEventListener("reset", (e) => {
      if (es !== this.es) return;
      this.stop("reset", parse(e.data));
    });
    es.addEventListener("bye", () => {
      if (es !== this.es) return;
      // The server rotates the stream before a web server's time limit: resume at once.
      this.emit({ kind: "rotated" });
      this.openStream();
    });
    es.onerror = () => {
      if (es !== this.es) return;
      if (es.readyState === EventSource.CLOSED) {
        // Not a stream (503 too_many_streams, 401, 404, ...): the browser won't retry.
        // One poll tells which, and keeps the board live meanwhile.
        const wasPolling = this.polling;
        this.closeStream();
        this.streamFails++;
        if (!wasPolling) this.pollReason = "refused";
        this.startPolling(true);
        if (wasPolling) this.scheduleStreamRetry();  // a retry was refused: wait again
        return;
      }
      // CONNECTING: the browser retries by itself with Last-Event-ID.
      this.streamFails++;
      if (this.mode === "poll") return;  // a stream retry while polling failed; polling goes on
      if (this.streamFails > STREAM_FAILS_BEFORE_POLL) {
        this.closeStream();
        this.pollReason = "network";
        this.startPolling(true);
      } else {
        this.setState("reconnecting", "stream");
      }
    };
  }

  onEvent(type, idText, dataText) {
    const seq = Number(idText);
    if (!Number.isFinite(seq) || seq <= this.lastId) return;  // replayed twice: drop
    let data;
    try { data = JSON.parse(dataText); } catch (_) { return; }
    this.lastId = seq;
    this.emit({ kind: "event", seq, type, data });
    if (this.resume) {
      this.resume.events.push({ itemId: data.item && data.item.id !== undefined ? data.item.id : null, actor: data.actor && data.actor.name });
      this.checkResumed();
    }
    if (type === "board.deleted") {
      // The server follows with revoked {"reason":"board_deleted"}; polling has no such event.
      if (this.mode === "poll") this.stop("revoked", { reason: "board_deleted" });
    }
  }

  setViewers(viewers) {
    this.viewers = viewers;
    this.emit({ kind: "presence", viewers });
  }

  stop(type, data) {
    if (this.closed) return;
    this.close();
    this.emit({ kind: "control", type, data: data || {} });
  }

  // ---- polling fallback
  startPolling(now) {
    if (this.closed) return;
    if (!this.polling) {
      this.polling = true;
      this.mode = "poll";
      this.scheduleStreamRetry();
    }
    clearTimeout(this.pollTimer);
    if (now) this.pollOnce();
    else this.pollTimer = setTimeout(() => this.pollOnce(), POLL_MS);
  }

  stopPolling() {
    this.polling = false;
    this.pollReason = null;
    clearTimeout(this.pollTimer);
    clearTimeout(this.streamRetryTimer);
  }

  scheduleStreamRetry() {
    clearTimeout(this.streamRetryTimer);
    this.streamRetryTimer = setTimeout(() => {
      if (this.closed || !this.polling) return;
      this.streamRetryMs = Math.min(this.streamRetryMs * 2, 120000);
      this.openStream();  // hello switches back to streaming; a failure keeps polling
      this.scheduleStreamRetry();
    }, this.streamRetryMs);
  }

  async pollOnce() {
    if (this.closed || !this.polling) return;
    let status = 0;
    let body = null;
    try {
      const r = await fetch(
        `${this.api}/boards/${this.boardId}/events?after=${this.lastId}&limit=1000`,
        { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" });
      status = r.status;
      try { body = await r.json(); } catch (_) { body = null; }
    } catch (_) {
      status = 0;
    }
    if (this.closed || !this.polling) return;
    if (status === 200 && body && Array.isArray(body.events)) {
      this.pollFails = 0;
      this.setState("live", "poll");
      if (this.pollReason === "network") {
        // The server is back after an outage: stream again now rather than at the next retry.
        this.pollReason = "refused";
        this.openStream();
      }
      for (const ev of body.events) {
        this.onEvent(ev.type, String(ev.seq), JSON.stringify(ev));
        if (this.closed) return;
      }
      this.pollViewers();
      if (body.more) {
        this.startPolling(true);
        return;
      }
    } else if (status === 401) {
      this.stop("unauthorized", {});
      return;
    } else if (status === 404 || status === 403) {
      this.stop("revoked", { reason: "access_removed" });
      return;
    } else if (status === 410) {
      this.stop("reset", { last_event_id: body && body.last_event_id });
      return;
    } else if (status === 503) {
      // The server is busy (too_many_streams: even the poll's extra place was taken), not
      // unreachable: never "offline" for that; the next poll tries again.
      this.setState("reconnecting", "poll");
    } else {
      this.pollFails++;
      this.setState(this.pollFails >= OFFLINE_AFTER_FAILS ? "offline" : "reconnecting", "poll");
    }
    this.startPolling(false);
  }

  async pollViewers() {
    try {
      const r = await fetch(`${this.api}/boards/${this.boardId}/viewers`,
        { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" });
      if (r.status !== 200) return;
      const d = await r.json();
      if (!this.closed && d && Array.isArray(d.viewers)) this.setViewers(d.viewers);
    } catch (_) { /* presence is best effort while polling */ }
  }
}

function parse(text) {
  try { return JSON.parse(text); } catch (_) { return {}; }
}
