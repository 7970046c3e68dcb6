// The keyboard on the board (SHORTCUTS below is also the "?" dialog's list): on a note, arrows
// go to the nearest note that way, Alt+arrows move it and Shift+arrows resize it (one save after
// a pause), Enter/F2 edits, Delete removes, F brings to front, C opens the colours, Escape returns
// to the canvas; on the canvas arrows pan and N adds a note; + - 0 ! zoom and ? shows the
// shortcuts anywhere on the board. A keyboard move saves only the fields the keys changed
// (tests/browser/unit/keys.test.mjs). install(B) adds onNoteKey, flushKeyMove and showShortcuts
// to the board context B and listens on B.canvas.
import { h } from "../ui.js";
import { clamp, LIMIT, MIN_W, MIN_H, MAX_WH, nearestInDirection } from "./state.js";

const KEY_STEP = 10;
const KEY_STEP_BIG = 50;
const KEY_COMMIT_MS = 600;
const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
const DIRS = { ArrowLeft: "left", ArrowRight: "right", ArrowUp: "up", ArrowDown: "down" };

export const SHORTCUTS = [
  ["On the board", [
    ["N", "New note in free space in the middle of the view"],
    ["Double-click", "New note there"],
    ["Arrows", "Pan the board (Shift: farther)"],
    ["+ / −", "Zoom in / out (also Ctrl or ⌘ + wheel, or pinch)"],
    ["0", "Zoom to 100%"],
    ["Shift+1 (!)", "Zoom to fit every note"],
    ["Tab", "Go to the notes"],
    ["Ctrl+Z or ⌘+Z", "Undo your last change of a note on this board (not while editing a note's text)"],
    ["Ctrl+Shift+Z, Ctrl+Y or ⌘+Shift+Z", "Redo what you undid"],
    ["?", "This list"],
  ]],
  ["On a note", [
    ["Arrows", "Go to the nearest note that way"],
    ["Alt+arrows", "Move the note (Alt+Shift: 50 px)"],
    ["Shift+arrows", "Resize the note (right/down larger, left/up smaller)"],
    ["Enter or F2", "Edit the text"],
    ["C", "Colours (arrows pick, Enter applies)"],
    ["F", "Bring to front (for everyone)"],
    ["Delete", "Delete the note"],
    ["Escape", "Back to the board"],
  ]],
  ["While editing", [
    ["Ctrl+Enter or ⌘+Enter", "Save"],
    ["Escape", "Close, keeping the text as an unsaved draft (Save or Discard it on the note)"],
  ]],
];
const plain = (e) => !e.ctrlKey && !e.metaKey && !e.altKey;

export function install(B) {
  Object.assign(B, { onNoteKey, flushKeyMove, showShortcuts });

  function onNoteKey(e, id) {
    if (e.target !== B.els.get(id)) return;  // keys inside the toolbar / editor are theirs
    const it = B.items.get(id);
    if (!it) return;
    const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (k === "Enter" || k === "F2") {
      e.preventDefault();
      B.startEdit(id);
    } else if (ARROWS[k] && e.altKey && B.canEdit()) {
      e.preventDefault();
      nudge(id, it, ARROWS[k], e.shiftKey ? KEY_STEP_BIG : KEY_STEP, false);
    } else if (ARROWS[k] && e.shiftKey && !e.ctrlKey && !e.metaKey && B.canEdit()) {
      e.preventDefault();
      nudge(id, it, ARROWS[k], KEY_STEP, true);
    } else if (ARROWS[k] && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      const next = nearestInDirection([...B.items.keys()].map((i) => B.view(i)), B.view(id), DIRS[k]);
      if (next && B.els.get(next.id)) B.els.get(next.id).focus();
    } else if ((k === "Delete" || k === "Backspace") && B.canEdit()) {
      e.preventDefault();
      B.deleteNote(id);
    } else if (k === "f" && !e.ctrlKey && !e.metaKey && B.canEdit()) {
      e.preventDefault();
      B.bringToFront(id);
    } else if (k === "c" && !e.ctrlKey && !e.metaKey && B.canEdit()) {
      e.preventDefault();
      B.openPalette(id);
    } else if (k === "Escape") {
      B.canvas.focus();
    }
  }

  // Moves (or resizes) the note by step px; one save after a pause. from: the note as shown
  // when the keys began.
  function nudge(id, it, [dx, dy], step, resize) {
    let km = B.keyMoves.get(id);
    if (!km) {
      const v = B.view(id);
      km = { base: { ...it }, from: { x: v.x, y: v.y, width: v.width, height: v.height }, x: v.x, y: v.y, w: v.width, h: v.height, timer: null };
      B.keyMoves.set(id, km);
    }
    if (resize) {
      km.w = clamp(km.w + dx * step, MIN_W, MAX_WH);
      km.h = clamp(km.h + dy * step, MIN_H, MAX_WH);
    } else {
      km.x = clamp(km.x + dx * step, -LIMIT, LIMIT);
      km.y = clamp(km.y + dy * step, -LIMIT, LIMIT);
    }
    const el = B.els.get(id);
    el.style.left = km.x + "px";
    el.style.top = km.y + "px";
    el.style.width = km.w + "px";
    el.style.height = km.h + "px";
    B.revealNote(id);
    if (B.positionToolbar) B.positionToolbar();
    clearTimeout(km.timer);
    km.timer = setTimeout(() => flushKeyMove(id), KEY_COMMIT_MS);
  }

  function flushKeyMove(id) {
    const km = B.keyMoves.get(id);
    if (!km) return;
    clearTimeout(km.timer);
    B.keyMoves.delete(id);
    // Only the fields the keys changed: position and size are last-writer-wins field by field,
    // so the other axis keeps what landed meanwhile (an undo's reply, someone else's move)
    // instead of being set back to what it was when the keys began.
    const f = {};
    const now = { x: km.x, y: km.y, width: km.w, height: km.h };
    for (const k of Object.keys(now)) if (now[k] !== km.from[k]) f[k] = now[k];
    if (Object.keys(f).length) B.commit(id, f, km.base);
    B.renderNote(id);
  }

  // Zoom keys anywhere on the board but in a text field: + / = in, - out, 0 actual size,
  // Shift+1 (!) zoom to fit.
  const ZOOM_KEYS = { "+": () => B.zoomBy(1.25), "=": () => B.zoomBy(1.25), "-": () => B.zoomBy(1 / 1.25), "0": () => B.zoomTo(1), "!": () => B.zoomFit() };
  ZOOM_KEYS["?"] = () => showShortcuts();
  B.root.addEventListener("keydown", (e) => {
    if (B.editing || e.ctrlKey || e.metaKey || e.altKey || !ZOOM_KEYS[e.key]) return;
    if (e.target.closest("input, textarea, select, dialog, .note-palette, .trash-panel")) return;
    e.preventDefault();
    ZOOM_KEYS[e.key]();
  });

  B.canvas.addEventListener("keydown", (e) => {
    if (e.target !== B.canvas || B.editing) return;  // no single-key shortcuts while typing
    const step = e.shiftKey ? 200 : 60;
    const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[e.key]) {
      e.preventDefault();
      B.pan.x += moves[e.key][0];
      B.pan.y += moves[e.key][1];
      B.applyPan();
    } else if ((e.key === "n" || e.key === "N") && plain(e)) {
      e.preventDefault();
      B.createNoteAtCenter();
    }
  });

  // The "?" dialog: every shortcut; closing it returns focus where it was.
  function showShortcuts() {
    const back = document.activeElement;
    const close = h("button", { type: "button", class: "btn btn-primary", "data-testid": "shortcuts-close", onclick: () => dlg.close() }, "Close");
    const dlg = h("dialog", { class: "dialog dialog-wide", "data-testid": "shortcuts", "aria-labelledby": "shortcuts-title" },
      h("h2", { id: "shortcuts-title" }, "Keyboard shortcuts"),
      SHORTCUTS.map(([title, rows]) => h("section", { class: "shortcuts" }, h("h3", null, title),
        h("dl", null, rows.map(([k, what]) => [h("dt", null, h("kbd", null, k)), h("dd", null, what)])))),
      h("div", { class: "dialog-actions" }, close));
    dlg.addEventListener("close", () => { dlg.remove(); if (back && back.isConnected) back.focus(); });
    document.body.append(dlg);
    dlg.showModal();
    close.focus();
  }
}
