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

export const EVENT_TYPES = [
  "item.created", "item.updated", "item.deleted", "board.updated", "board.deleted",
  "member.added", "member.updated", "member.removed",
];

const POLL_MS = 3000;            // polling period in fallback mode
const STREAM_RETRY_MS = 10000;   // first retry of the stream while polling (the server's Retry-After; doubles up to 2 min)
const STREAM_FAILS_BEFORE_POLL = 3;  // consecutive failed reconnects before polling
const OFFLINE_AFTER_FAILS = 2;   // consecutive failed polls (or reconnects beyond the above) -> offline

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
  }

  start() {
    this.openStream();
  }

  close() {
    this.closed = true;
    this.closeStream();
    clearTimeout(this.pollTimer);
    clearTimeout(this.streamRetryTimer);
  }

  setState(state, mode = this.mode) {
    if (this.closed) return;
    if (state === this.state && mode === this.mode) return;
    this.state = state;
    this.mode = mode;
    this.emit({ kind: "state", state, mode });
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
