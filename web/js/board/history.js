// The board's history panel (docs/api.md, "GET /boards/:id/history", "POST
// /boards/:id/history/restore"): the "History" button in the bar opens a panel with a slider over
// the board's events. The slider's label says who did what, when (the events come from the JSON
// poll of GET /boards/:id/events, the newest MAX_PAGES pages); moving it draws the board read-only
// as it was after that event (GET .../history?seq=N) over the canvas, whose live notes are hidden
// and can be neither edited nor added to meanwhile. "Play" walks the slider from there (from the
// start when it is at the end) to now, one event per PLAY_MS. "Restore this version" (editors and
// up) makes the changes that bring the notes back to that state, one undo step, live for everyone;
// the reply's events are applied at once as the undo's are. "Back to now" (or closing the panel,
// or Escape) shows the live board again. While the panel is open it follows the board: new events
// extend the slider (onHistoryEvent, called by sync.js for every event). The "since your last
// visit" part of the panel is since.js. install(B) adds toggleHistory, onHistoryEvent and
// historyBody (the panel's body, where since.js puts its list) to the board context B.
import { api } from "../api.js";
import { h, clear, icon, toast, timeAgo, confirmDialog, shownName } from "../ui.js";
import { shortText, noteLabel, isDark } from "./state.js";
import { changeWords } from "./announce.js";

const PAGE = 1000;      // events per page of the poll
const MAX_PAGES = 5;    // the newest 5,000 events get words; older ones are "change N"
const PLAY_MS = 700;    // one event per step while playing
const CACHE = 64;       // board states kept (seq -> the history reply)

// What an event did, in words (the slider's label and since.js's list): "moved 'Idea 5'".
export function eventWords(d) {
  const it = d.item || {};
  const name = shortText(it) ? `'${shortText(it)}'` : "a note";
  const m = d.member || {};
  const words = {
    "item.created": () => (d.restored ? `restored ${name}` : `added ${name}`),
    "item.updated": () => changeWords({ ...it, ...(d.before || {}) }, it),
    "item.deleted": () => `deleted ${name}`,
    "board.updated": () => ((d.changed || []).includes("title") ? `renamed the board to '${(d.board || {}).title}'` : "changed the board"),
    "board.restored": () => "restored the board from the trash",
    "member.added": () => `added ${shownName(m)} to the team`,
    "member.updated": () => `made ${shownName(m)} ${m.role}`,
    "member.removed": () => `removed ${shownName(m)} from the team`,
  }[d.type];
  const w = words ? words() : d.type;
  return d.undo_of ? `${w} (an undo)` : d.redo_of ? `${w} (a redo)` : w;
}

// "alice moved 'Idea 5', 3 min ago".
export function eventLine(d) {
  return `${shownName(d.actor)} ${eventWords(d)}, ${timeAgo(d.at)}`;
}

export function install(B) {
  const H = { B, events: new Map(), states: new Map(), last: B.board.last_event_id || 0, pos: null, playing: false, token: 0 };
  Object.assign(B, { toggleHistory: (open) => toggle(H, open), onHistoryEvent: (type, d) => onEvent(H, type, d) });
  buildPanel(H);
  buildView(H);
}

function buildPanel(H) {
  const { B } = H;
  const headingId = `history-h-${B.board.id}`;
  H.slider = h("input", { type: "range", min: "0", max: String(H.last), value: String(H.last), step: "1", class: "history-slider", "data-testid": "history-slider", "aria-label": "Board version: after which change" });
  H.slider.addEventListener("input", () => { stop(H); show(H, Number(H.slider.value)); });
  H.label = h("p", { class: "history-at", "data-testid": "history-at", "aria-live": "polite" });
  H.playBtn = h("button", { type: "button", class: "btn btn-ghost btn-xs", "data-testid": "history-play", onclick: () => (H.playing ? stop(H) : play(H)) }, "Play");
  H.restoreBtn = h("button", { type: "button", class: "btn btn-primary btn-xs", "data-testid": "history-restore", onclick: () => restore(H) }, "Restore this version");
  H.nowBtn = h("button", { type: "button", class: "btn btn-ghost btn-xs", "data-testid": "history-now", onclick: () => { stop(H); show(H, H.last); } }, "Back to now");
  B.historyBody = h("div", { class: "history-body" });
  H.panel = h("aside", { class: "trash-panel history-panel", id: `history-panel-${B.board.id}`, "aria-labelledby": headingId, "data-testid": "history-panel", hidden: true },
    h("div", { class: "trash-head" },
      h("h2", { id: headingId, tabindex: "-1" }, "History"),
      h("button", { type: "button", class: "btn btn-ghost btn-xs", "data-testid": "history-close", "aria-label": "Close the history", onclick: () => toggle(H, false) }, "Close")),
    h("p", { class: "muted trash-note" }, "Move the slider to see the board as it was after each change."),
    H.slider, H.label, h("div", { class: "history-actions" }, H.playBtn, H.nowBtn, H.restoreBtn), B.historyBody);
  B.historyBtn = h("button", {
    type: "button", class: "btn btn-ghost btn-sm", "data-testid": "board-history", "aria-label": "History", "aria-expanded": "false", "aria-controls": H.panel.id,
    onclick: () => toggle(H, H.panel.hidden),
  }, icon("clock"), h("span", { class: "hide-narrow" }, "History"));
  (B.trashBtn || B.deleteBtn).before(B.historyBtn);
  B.root.append(H.panel);
  H.panel.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.stopPropagation(); toggle(H, false); } });
  H.panel.addEventListener("pointerdown", (e) => e.stopPropagation());
  // The role may change live: "Restore this version" follows it.
  const prevFrame = B.renderFrame;
  B.renderFrame = () => { prevFrame(); renderControls(H); };
}

// The read-only view: a layer of plain notes in the world (so it pans and zooms with it) and a
// shield over the canvas that takes the pointer (no note is added, dragged or edited).
function buildView(H) {
  const { B } = H;
  H.layer = h("div", { class: "history-layer", "data-testid": "history-layer", role: "img" });
  H.shield = h("div", { class: "history-shield", "data-testid": "history-shield" });
  for (const type of ["dblclick", "pointerdown", "keydown"]) H.shield.addEventListener(type, (e) => e.stopPropagation());
  H.banner = h("div", { class: "history-banner", "data-testid": "history-banner", role: "status", hidden: true });
  B.world.append(H.layer);
  B.canvas.append(H.shield);
  B.canvas.before(H.banner);
  // No shortcut reaches the board while it shows the past (N would add a note, Ctrl+Z undo).
  B.root.addEventListener("keydown", (e) => {
    if (B.root.classList.contains("history-mode") && !H.panel.contains(e.target)) e.stopPropagation();
  }, true);
}

function setMode(H, past) {
  H.B.root.classList.toggle("history-mode", past);
  H.B.newBtn.disabled = past;
  H.banner.hidden = !past;
  if (!past) clear(H.layer);
}

async function toggle(H, open) {
  const { B } = H;
  H.panel.hidden = !open;
  B.historyBtn.setAttribute("aria-expanded", String(open));
  if (!open) {
    stop(H);
    show(H, H.last);
    B.historyBtn.focus();
    return;
  }
  const trash = B.root.querySelector('[data-testid="trash-panel"]');
  if (trash && !trash.hidden && B.toggleTrash) B.toggleTrash(false);  // one panel at a time: same place
  H.panel.style.top = `${B.bar.offsetTop + B.bar.offsetHeight + 8}px`;
  H.panel.querySelector("h2").focus();
  H.last = Math.max(H.last, B.board.last_event_id || 0);
  H.slider.max = String(H.last);
  H.slider.value = String(H.last);
  H.pos = H.last;
  renderControls(H);
  await loadEvents(H);
  renderControls(H);
}

// The newest events, page by page (the JSON poll), for the slider's words.
async function loadEvents(H) {
  let after = Math.max(0, H.last - PAGE * MAX_PAGES);
  for (let i = 0; i < MAX_PAGES; i++) {
    let r;
    try {
      r = await api.boardEvents(H.B.board.id, after, PAGE);
    } catch (e) {
      return;  // the words are a help: without them the slider says "change N"
    }
    for (const d of r.events || []) H.events.set(d.seq, d);
    if (!r.more || !(r.events || []).length) return;
    after = r.events[r.events.length - 1].seq;
  }
}

function labelOf(H, seq) {
  if (seq === 0) return "The board as it was created, before any change.";
  const d = H.events.get(seq);
  const what = d ? `: ${eventLine(d)}` : "";
  return seq >= H.last ? `Now, after change ${seq}${what}.` : `After change ${seq} of ${H.last}${what}.`;
}

function renderControls(H) {
  const { B } = H;
  const past = H.pos !== null && H.pos < H.last;
  H.label.textContent = labelOf(H, H.pos === null ? H.last : H.pos);
  H.slider.setAttribute("aria-valuetext", H.label.textContent);
  H.restoreBtn.hidden = !B.canEdit();
  H.restoreBtn.disabled = !past || H.playing;
  H.nowBtn.disabled = !past;
  H.playBtn.textContent = H.playing ? "Pause" : "Play";
  H.playBtn.disabled = H.last === 0;
}

// Shows the board after event seq: the live board at the end, else the state from the server.
async function show(H, seq) {
  const { B } = H;
  const token = ++H.token;
  H.pos = seq;
  H.slider.value = String(seq);
  renderControls(H);
  if (seq >= H.last) {
    setMode(H, false);
    return true;
  }
  let doc = H.states.get(seq);
  if (!doc) {
    try {
      doc = await api.boardHistory(B.board.id, seq);
    } catch (e) {
      if (e.status !== 401) toast(e.message, "error");
      return false;
    }
    H.states.set(seq, doc);
    if (H.states.size > CACHE) H.states.delete(H.states.keys().next().value);
  }
  if (token !== H.token || B.gone) return false;
  draw(H, doc);
  return true;
}

function draw(H, doc) {
  setMode(H, true);
  H.banner.textContent = `Read only: the board as it was after change ${doc.seq} of ${H.last}, “${doc.title}”.`;
  H.layer.setAttribute("aria-label", `The board after change ${doc.seq}: ${doc.items.length} note${doc.items.length === 1 ? "" : "s"}`);
  clear(H.layer).append(...doc.items.map((it, i) => {
    const el = h("div", {
      class: `note note-history${isDark(it.color) ? " note-dark" : ""}`, "data-testid": "history-note", "data-id": it.id, title: noteLabel(it),
      style: { left: `${it.x}px`, top: `${it.y}px`, width: `${it.width}px`, height: `${it.height}px`, zIndex: String(i + 1) },
    }, h("div", { class: "note-body" }, h("div", { class: "note-text", "data-testid": "history-note-text" }, it.text)));
    el.style.setProperty("--note", it.color);
    return el;
  }));
}

// Play: one event after another up to now, from the slider's place (from 0 when it is at the end).
async function play(H) {
  H.playing = true;
  let seq = H.pos === null || H.pos >= H.last ? 0 : H.pos;
  renderControls(H);
  while (H.playing && !H.B.gone) {
    if (!(await show(H, seq))) break;
    if (seq >= H.last) break;
    await new Promise((r) => setTimeout(r, PLAY_MS));
    seq++;
  }
  H.playing = false;
  renderControls(H);
}

function stop(H) {
  H.playing = false;
}

async function restore(H) {
  const { B } = H;
  const seq = H.pos;
  if (seq === null || seq >= H.last || !B.canEdit()) return;
  const ok = await confirmDialog(`Bring the notes back to how they were after change ${seq}? Everyone sees it at once, and Undo takes it back.`, { ok: "Restore", danger: false });
  if (!ok || B.gone) return;
  H.restoreBtn.disabled = true;
  let r;
  try {
    r = await api.restoreVersion(B.board.id, seq);
  } catch (e) {
    if (e.status !== 401) toast(e.message, "error", 8000);
    renderControls(H);
    return;
  }
  for (const d of r.events || []) {
    if (d.type === "item.created" && d.item) B.deleting.delete(d.item.id);
    B.applyEvent(d.type, d);
  }
  const n = (r.events || []).length;
  B.say(`Restored the board as it was after change ${seq}: ${n} change${n === 1 ? "" : "s"}. Undo takes it back.`);
  toast(`Restored the version after change ${seq} (${n} change${n === 1 ? "" : "s"}). Undo takes it back.`, "info");
  show(H, H.last);
}

// Every event of the board (sync.js): the slider grows; at the end it follows.
function onEvent(H, type, d) {
  if (!d || !d.seq || d.seq <= H.last) return;
  const follow = H.pos === null || H.pos >= H.last;
  H.events.set(d.seq, d);
  H.last = d.seq;
  H.slider.max = String(H.last);
  if (follow) {
    H.pos = H.last;
    H.slider.value = String(H.last);
  }
  if (!H.panel.hidden) renderControls(H);
}
