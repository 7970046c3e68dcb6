// The one floating toolbar of the selected note (edit, colour, bring to front, delete) and the
// selection itself. Selecting a note (focusing it) outlines it — it is not raised: stacking is
// the notes' z, the same on every screen. The toolbar lives outside the notes' layer, so no note
// covers it, and is kept inside the canvas: above the note, or below it when there is no room
// above, moved along with pan and zoom. install(B) adds select, positionToolbar and openPalette
// to the board context B; B.selected is the selected note's id (or null).
import { h, icon } from "../ui.js";
import { COLORS } from "./state.js";

const GAP = 8;
const MARGIN = 6;

export function install(B) {
  Object.assign(B, { select, positionToolbar, openPalette });
  B.selected = null;

  const palette = h("div", { class: "note-palette", role: "group", "aria-label": "Note color", hidden: true, "data-testid": "note-palette" },
    COLORS.map(([c, name]) => h("button", {
      type: "button", class: "swatch", style: { background: c }, "aria-label": name, title: name,
      "data-color": c, "data-testid": "swatch",
      onclick: (e) => { e.stopPropagation(); palette.hidden = true; B.setColor(B.selected, c); },
    })));
  const tool = (name, title, label, testid, fn, extra = "") => h("button", {
    type: "button", class: `tool ${extra}`.trim(), title, "aria-label": label, "data-testid": testid,
    onclick: (e) => { e.stopPropagation(); if (B.selected !== null) fn(B.selected); },
  }, icon(name));
  const bar = h("div", { class: "note-toolbar", role: "toolbar", "aria-label": "Note actions", "data-testid": "note-toolbar", hidden: true },
    tool("edit", "Edit text (Enter)", "Edit text", "note-edit", (id) => B.startEdit(id)),
    tool("palette", "Color (C)", "Color", "note-color", (id) => openPalette(id, palette.hidden)),
    tool("front", "Bring to front (F)", "Bring to front", "note-front", (id) => B.bringToFront(id)),
    tool("trash", "Delete (Delete key)", "Delete note", "note-delete", (id) => B.deleteNote(id), "tool-danger"),
    palette);
  B.toolbar = bar;
  B.root.append(bar);
  bar.addEventListener("pointerdown", (e) => e.stopPropagation());
  palette.addEventListener("keydown", (e) => {
    e.stopPropagation();
    const sw = [...palette.querySelectorAll("button")];
    const i = sw.indexOf(document.activeElement);
    const el = B.els.get(B.selected);
    if (e.key === "Escape") { palette.hidden = true; positionToolbar(); if (el) el.focus(); }
    else if (e.key === "ArrowRight" || e.key === "ArrowDown") { e.preventDefault(); sw[(i + 1) % sw.length].focus(); }
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp") { e.preventDefault(); sw[(i - 1 + sw.length) % sw.length].focus(); }
  });
  palette.addEventListener("focusout", (e) => {
    if (!palette.contains(e.relatedTarget)) { palette.hidden = true; positionToolbar(); }
  });

  // Opens (or closes) the palette of note id, focused on its current colour.
  function openPalette(id, open = true) {
    select(id);
    palette.hidden = !open;
    positionToolbar();
    if (!open) return;
    const it = B.view(id);
    const current = (it && palette.querySelector(`[data-color="${it.color}"]`)) || palette.querySelector("button");
    current.focus();
  }

  function select(id) {
    if (B.selected === id) { positionToolbar(); return; }
    const old = B.els.get(B.selected);
    if (old) old.classList.remove("note-selected");
    B.selected = id;
    palette.hidden = true;
    const el = B.els.get(id);
    if (el) el.classList.add("note-selected");
    positionToolbar();
  }

  // Follow the selected note; hidden while nothing is selected, while dragging or editing it,
  // for a viewer, or when the note is out of view.
  function positionToolbar() {
    const id = B.selected;
    const el = id === null ? null : B.els.get(id);
    const busy = B.dragging || (B.editing && B.editing.id === id);
    if (!el || busy || !B.canEdit()) { bar.hidden = true; return; }
    const root = B.root.getBoundingClientRect();
    const cv = B.canvas.getBoundingClientRect();
    const n = el.getBoundingClientRect();
    if (n.right < cv.left || n.left > cv.right || n.bottom < cv.top || n.top > cv.bottom) { bar.hidden = true; return; }
    bar.hidden = false;
    const w = bar.offsetWidth;
    const hh = bar.offsetHeight;
    let top = n.top - GAP - hh;
    if (top < cv.top + MARGIN) top = n.bottom + GAP;                 // no room above: below
    if (top + hh > cv.bottom - MARGIN) top = Math.max(cv.top + MARGIN, Math.min(n.top, cv.bottom - MARGIN - hh));
    const left = Math.max(cv.left + MARGIN, Math.min(n.left, cv.right - MARGIN - w));
    bar.style.transform = `translate(${Math.round(left - root.left)}px, ${Math.round(top - root.top)}px)`;
  }

  // Selection follows focus: a focused note (or its toolbar) is selected; focus on the canvas
  // or elsewhere on the page drops it.
  B.world.addEventListener("focusin", (e) => {
    const el = e.target.closest && e.target.closest(".note");
    if (!el) return;
    select(el._id);
    if (!B.dragging) B.revealNote(el._id);
  });
  B.root.addEventListener("focusout", (e) => {
    const to = e.relatedTarget;
    if (to && (bar.contains(to) || (to.closest && to.closest(".note")))) return;
    if (to && to.closest && to.closest("dialog")) return;  // the delete confirmation
    select(null);
  });
  const prevView = B.onView;
  B.onView = () => { if (prevView) prevView(); positionToolbar(); };
}
