// "Since your last visit" (docs/api.md, "GET /boards/:id/visit"): when the board opens, the seq
// this user last saw on it is read (GET /boards/:id/visit), then the board's last_event_id is
// reported as seen (POST), and afterwards the seq of the live events shown, at most every
// REPORT_MS while the board is open: the server keeps what this person saw, live changes included,
// without a write per event (what came in the last REPORT_MS before leaving is not reported). The
// changes others made after the stored seq (the JSON poll of GET /boards/:id/events, one page)
// mark their notes on the board ("changed since your last visit") and are listed in the history
// panel (history.js), each with who and when; the History button counts them. A first visit
// (nothing stored) marks nothing. "Clear marks" takes the marks away. install(B) must come after
// history.js's: it adds its part to the panel's body (B.historyBody) and follows the events
// through B.onHistoryEvent.
import { api } from "../api.js";
import { h, clear } from "../ui.js";
import { eventLine } from "./history.js";

const REPORT_MS = 3000;  // a visit report at most this often
const LIST_MAX = 50;     // changes listed in the panel

// The changes others made since seq `seen`, among the events given (oldest first): the events of
// notes and of the board by someone else, and the ids of the notes they touched.
export function sinceChanges(events, seen, me) {
  const list = events.filter((d) => d.seq > seen && (!d.actor || d.actor.id !== me) &&
    (d.type.startsWith("item.") || d.type.startsWith("board.")));
  const ids = new Set(list.filter((d) => d.item && d.type !== "item.deleted").map((d) => d.item.id));
  return { list, ids };
}

export function install(B) {
  const S = { B, reported: -1, latest: B.board.last_event_id || 0, timer: null, ids: new Set() };
  S.count = h("span", { class: "history-count", "data-testid": "since-count", hidden: true });
  if (B.historyBtn) B.historyBtn.append(S.count);
  S.list = h("ul", { class: "trash-items since-list", "data-testid": "since-list" });
  S.head = h("h3", { class: "since-head" });
  S.section = h("section", { class: "since", "data-testid": "since", hidden: true }, S.head, S.list,
    h("button", { type: "button", class: "btn btn-ghost btn-xs", "data-testid": "since-clear", onclick: () => clearMarks(S) }, "Clear marks"));
  if (B.historyBody) B.historyBody.append(S.section);
  const prev = B.onHistoryEvent;
  B.onHistoryEvent = (type, d) => {
    if (prev) prev(type, d);
    onEvent(S, type, d);
  };
  const prevRender = B.renderNote;
  B.renderNote = (id) => { prevRender(id); mark(S, id); };
  start(S);
}

async function start(S) {
  const { B } = S;
  let v;
  try {
    v = await api.visit(B.board.id);
  } catch (e) {
    return;  // a help, not the board: without it nothing is marked
  }
  report(S, S.latest);
  if (!v.seen_at || v.seq >= S.latest || B.gone) return;
  let r;
  try {
    r = await api.boardEvents(B.board.id, v.seq, 1000);
  } catch (e) {
    return;
  }
  if (B.gone) return;
  const { list, ids } = sinceChanges(r.events || [], v.seq, B.me.id);
  if (!list.length) return;
  S.ids = ids;
  for (const id of ids) mark(S, id);
  S.head.textContent = `Since your last visit: ${list.length}${r.more ? "+" : ""} change${list.length === 1 ? "" : "s"} by others`;
  clear(S.list).append(...list.slice(-LIST_MAX).reverse().map((d) =>
    h("li", { class: "trash-item since-item", "data-testid": "since-item", "data-seq": d.seq }, eventLine(d))));
  S.section.hidden = false;
  S.count.textContent = String(list.length);
  S.count.hidden = false;
  B.historyBtn.setAttribute("aria-label", `History: ${list.length} change${list.length === 1 ? "" : "s"} since your last visit`);
}

function mark(S, id) {
  const el = S.B.els.get(id);
  if (!el) return;
  const on = S.ids.has(id);
  el.classList.toggle("note-since", on);
  if (on) el.dataset.since = "1";
  else delete el.dataset.since;
}

function clearMarks(S) {
  const ids = S.ids;
  S.ids = new Set();
  for (const id of ids) mark(S, id);
  S.section.hidden = true;
  S.count.hidden = true;
  S.B.historyBtn.setAttribute("aria-label", "History");
}

// The seq shown now: reported at most every REPORT_MS while the board is open (a board left
// because it was deleted or access was lost would answer 404).
function onEvent(S, type, d) {
  if (!d || !d.seq || d.seq <= S.latest || type === "board.deleted") return;
  S.latest = d.seq;
  if (!S.timer) S.timer = setTimeout(() => { S.timer = null; if (!S.B.gone) report(S, S.latest); }, REPORT_MS);
}

function report(S, seq) {
  if (seq <= S.reported) return;
  S.reported = seq;
  api.reportVisit(S.B.board.id, seq).catch(() => { S.reported = -1; });
}
