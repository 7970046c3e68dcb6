// Undo and redo (docs/api.md, "Undo and redo"): the bar's Undo and Redo buttons (editors and up;
// hidden for viewers, following a role change live) and Ctrl+Z, Ctrl+Shift+Z and Ctrl+Y (⌘ on
// macOS) anywhere on the board but in a text field or an open dialog, so that a note's text editor
// keeps the browser's own text undo. POST /boards/:id/undo (redo) takes back this user's newest
// note change on the board (made from any client); the reply's events are applied at once like
// stream events (the stream brings them again: the board drops what it already shows by version,
// the counting here by seq) and read out in the polite live region ("Undone: moved 'Idea 5'").
//
// What this user can undo or redo is kept by the server; the client follows it from the board's
// events (onUndoEvent, called by sync.js for every event): a note change of this user's counts one
// more undo step and clears the redo (the server's rule); an undo of theirs (undo_of) moves one
// step from undo to redo, a redo (redo_of) back. What came before the board was loaded (or
// reloaded after a reset) is asked of the server (GET /boards/:id/undo): nothing there disables
// the button; something there keeps it enabled without a count (the answer says whether, not how
// many), and a 409 nothing_to_undo / nothing_to_redo disables it quietly once it is used up. (One event counts one step:
// true while every request changes one note; a batch request will need its events grouped.)
// install(B) adds undo, redo, onUndoEvent and undoUnknown to the board context B.
import { api } from "../api.js";
import { h, icon, toast, shownName } from "../ui.js";
import { outbox } from "../outbox.js";
import { shortText } from "./state.js";
import { changeWords } from "./announce.js";

const SAVE_WAIT_TRIES = 100;  // x 100 ms: how long an undo waits for this board's changes to be saved
const MAX_QUEUED = 5;         // key presses queued while an undo runs

// The words for what an undo (redo) event took back: "moved 'Idea 5'".
export function undoWords(kind, d) {
  const it = d.item || {};
  const name = shortText(it) ? `'${shortText(it)}'` : "a note";
  if (d.type === "item.updated") return changeWords({ ...it, ...(d.before || {}) }, it);
  if (d.type === "item.deleted") return kind === "undo" ? `added ${name}` : `deleted ${name}`;
  return kind === "undo" ? `deleted ${name}` : `added ${name}`;  // item.created: back from the trash
}

export function install(B) {
  Object.assign(B, { undo: () => enqueue("undo"), redo: () => enqueue("redo"), onUndoEvent, undoUnknown });
  const st = { undo: 0, redo: 0, undoUnknown: true, redoUnknown: true };
  const counted = new Set();  // seqs already counted (a reply's events come again on the stream)
  const mac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
  const undoBtn = h("button", {
    type: "button", class: "btn btn-ghost btn-sm btn-icon", "data-testid": "board-undo", "aria-label": "Undo",
    title: `Undo your last change (${mac ? "⌘Z" : "Ctrl+Z"})`, onclick: () => B.undo(),
  }, icon("undo"));
  const redoBtn = h("button", {
    type: "button", class: "btn btn-ghost btn-sm btn-icon", "data-testid": "board-redo", "aria-label": "Redo",
    title: `Redo (${mac ? "⌘⇧Z" : "Ctrl+Shift+Z or Ctrl+Y"})`, onclick: () => B.redo(),
  }, icon("redo"));
  B.renameBtn.before(undoBtn, redoBtn);

  // The role may change live (a viewer made editor): the buttons follow it.
  const prevFrame = B.renderFrame;
  B.renderFrame = () => { prevFrame(); render(); };

  function render() {
    for (const [btn, n, unknown] of [[undoBtn, st.undo, st.undoUnknown], [redoBtn, st.redo, st.redoUnknown]]) {
      btn.hidden = !B.canEdit();
      const off = !(n > 0 || unknown);
      if (off && document.activeElement === btn) B.canvas.focus({ preventScroll: true });  // not lost on a disabled button
      btn.disabled = off;
    }
  }

  // Every event of the board, from the stream or from an undo's reply.
  function onUndoEvent(type, d) {
    if (!type.startsWith("item.") || !d || !d.seq || counted.has(d.seq)) return;
    counted.add(d.seq);
    if (counted.size > 1000) counted.delete(counted.values().next().value);
    if (!d.actor || d.actor.id !== B.me.id) return;
    if (d.undo_of) {
      st.undo = Math.max(0, st.undo - 1);
      st.redo++;
    } else if (d.redo_of) {
      st.redo = Math.max(0, st.redo - 1);
      st.undo++;
    } else {
      st.undo++;
      st.redo = 0;
      st.redoUnknown = false;
    }
    render();
  }

  // The board was reloaded (its events since were not all seen): unknown again, until asked.
  function undoUnknown() {
    st.undoUnknown = true;
    st.redoUnknown = true;
    render();
    ask();
  }

  // What the server has for this user from before: "nothing" ends the unknown (the counts of
  // the events seen meanwhile stand); "something" leaves it, so the button stays enabled.
  async function ask() {
    let r;
    try {
      r = await api.undoState(B.board.id);
    } catch (_) {
      return;  // unknown it stays: enabled, and a 409 settles it
    }
    if (B.gone) return;
    if (!r.can_undo) st.undoUnknown = false;
    if (!r.can_redo) st.redoUnknown = false;
    render();
  }

  let chain = Promise.resolve();
  let queued = 0;
  function enqueue(kind) {
    if (queued >= MAX_QUEUED) return chain;
    queued++;
    chain = chain.then(() => run(kind)).catch(() => {}).then(() => { queued--; });
    return chain;
  }

  // Our own changes still on their way are saved first: the undo takes back the newest one.
  async function saved() {
    for (const id of [...B.keyMoves.keys()]) B.flushKeyMove(id);
    for (let i = 0; i < SAVE_WAIT_TRIES; i++) {
      if (!outbox.pending(B.board.id).some((p) => p.state !== "conflict")) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  async function run(kind) {
    if (B.gone || !B.canEdit()) return;
    if (!(await saved())) {
      toast(`Can't ${kind} yet: your last changes are still being saved.`, "warn");
      return;
    }
    let r;
    try {
      r = await (kind === "undo" ? api.undo(B.board.id) : api.redo(B.board.id));
    } catch (e) {
      failed(kind, e);
      return;
    }
    if (B.gone) return;
    const words = [];
    for (const d of r.events || []) {
      words.push(undoWords(kind, d));
      if (d.type === "item.created" && d.item) B.deleting.delete(d.item.id);
      B.applyEvent(d.type, d);
    }
    if (words.length) B.say(`${kind === "undo" ? "Undone" : "Redone"}: ${words.join(", ")}.`);
  }

  function failed(kind, e) {
    if (e.status === 401 || B.gone) return;
    if (e.code === `nothing_to_${kind}`) {
      st[kind] = 0;
      st[`${kind}Unknown`] = false;
      render();
    } else if (e.status === 409 && e.code === "conflict") {
      const ev = e.body && e.body.event;
      const who = ev && ev.actor ? shownName(ev.actor) : "someone else";
      const it = (ev && ev.item) || {};
      const name = shortText(it) ? `the note '${shortText(it)}'` : "that note";
      toast(`Can't ${kind}: ${who} changed ${name} since. Nothing was changed.`, "warn", 8000);
    } else if (e.status === 410) {
      toast(`Can't ${kind}: that note was removed from the trash for good.`, "warn", 8000);
    } else {
      toast(e.message, "error");
    }
  }

  // Ctrl+Z / Ctrl+Shift+Z / Ctrl+Y (⌘ on macOS), but never in a text field (its own undo).
  function onKey(e) {
    if (B.gone) { document.removeEventListener("keydown", onKey); return; }
    if (!(e.ctrlKey || e.metaKey) || e.altKey || !B.root.isConnected) return;
    const k = e.key.toLowerCase();
    const kind = k === "z" ? (e.shiftKey ? "redo" : "undo") : k === "y" && !e.shiftKey ? "redo" : null;
    if (!kind || B.editing || B.dragging || !B.canEdit()) return;
    const t = e.target;
    if (t && t.closest && t.closest("input, textarea, select, [contenteditable], dialog")) return;
    if (document.querySelector("dialog[open]")) return;
    e.preventDefault();
    enqueue(kind);
  }
  document.addEventListener("keydown", onKey);
  render();
  ask();
}
