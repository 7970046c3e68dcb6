// A note's DOM: the element (text, per-note tools, colour palette, resize handle), drawing it
// from the item as last known, stacking, the conflict box, adding and removing notes.
// install(B) adds makeNote, renderNote, restack, upsert, removeNote, renderConflict, keepMine to
// the board context B (views/board.js).
import { h, icon } from "../ui.js";
import { COLORS, isDark, noteLabel, describeFields, stackOrder } from "./state.js";

export function install(B) {
  Object.assign(B, { makeNote, renderNote, restack, upsert, removeNote, renderConflict, keepMine });

  function makeNote(id) {
    const text = h("div", { class: "note-text", "data-testid": "note-text" });
    const palette = h("div", { class: "note-palette", role: "group", "aria-label": "Note color", hidden: true },
      COLORS.map(([c, name]) => h("button", {
        type: "button", class: "swatch", style: { background: c }, "aria-label": name, title: name,
        "data-color": c, "data-testid": "swatch",
        onclick: (e) => { e.stopPropagation(); palette.hidden = true; B.setColor(key(), c); },
      })));
    const tool = (name, title, label, testid, fn, extra = "") => h("button", {
      type: "button", class: `tool ${extra}`.trim(), title, "aria-label": label,
      "data-testid": testid, tabindex: "-1", onclick: (e) => { e.stopPropagation(); fn(); },
    }, icon(name));
    const tools = h("div", { class: "note-tools", role: "toolbar", "aria-label": "Note actions" },
      tool("edit", "Edit text (Enter)", "Edit text", "note-edit", () => B.startEdit(key())),
      tool("palette", "Color", "Color", "note-color", () => {
        palette.hidden = !palette.hidden;
        if (!palette.hidden) palette.querySelector("button").focus();
      }),
      tool("front", "Bring to front", "Bring to front", "note-front", () => B.bringToFront(key())),
      tool("trash", "Delete (Delete key)", "Delete note", "note-delete", () => B.deleteNote(key()), "tool-danger"),
      palette);
    const resize = h("div", { class: "note-resize", "data-testid": "note-resize", "aria-hidden": "true" });
    const el = h("article", {
      class: "note", tabindex: "0", "data-testid": "note", "data-id": id,
      "aria-keyshortcuts": "Enter C F Delete ArrowLeft ArrowRight ArrowUp ArrowDown",
    }, h("div", { class: "note-body" }, text), tools, resize);
    // The element's id may change (a temporary note gets its server id): read it at event time.
    const key = () => el._id;
    el._id = id;
    el._text = text;
    el._palette = palette;
    el.addEventListener("pointerdown", (e) => B.onNotePointerDown(e, key()));
    el.addEventListener("dblclick", (e) => {
      e.stopPropagation();
      if (!e.target.closest(".note-tools, .note-conflict")) B.startEdit(key());
    });
    el.addEventListener("keydown", (e) => B.onNoteKey(e, key()));
    resize.addEventListener("pointerdown", (e) => B.onResizePointerDown(e, key()));
    palette.addEventListener("keydown", (e) => paletteKey(e, palette, el));
    palette.addEventListener("focusout", (e) => {
      if (!palette.contains(e.relatedTarget)) palette.hidden = true;
    });
    return el;
  }

  function paletteKey(e, palette, el) {
    e.stopPropagation();
    const sw = [...palette.querySelectorAll("button")];
    const i = sw.indexOf(document.activeElement);
    if (e.key === "Escape") { palette.hidden = true; el.focus(); }
    else if (e.key === "ArrowRight" || e.key === "ArrowDown") { e.preventDefault(); sw[(i + 1) % sw.length].focus(); }
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp") { e.preventDefault(); sw[(i - 1 + sw.length) % sw.length].focus(); }
  }

  function renderNote(id) {
    const it = B.items.get(id);
    if (!it) return;
    let el = B.els.get(id);
    if (!el) {
      el = makeNote(id);
      B.els.set(id, el);
      B.world.append(el);
    }
    const moving = (B.dragging && B.dragging.id === id) || B.keyMoves.has(id);
    if (!moving) {
      el.style.left = it.x + "px";
      el.style.top = it.y + "px";
      el.style.width = it.width + "px";
      el.style.height = it.height + "px";
    }
    el.style.zIndex = String(zRank(it));
    el.style.setProperty("--note", it.color);
    el.classList.toggle("note-dark", isDark(it.color));
    el.dataset.version = it.version;
    el.dataset.color = it.color;
    if (!(B.editing && B.editing.id === id)) el._text.textContent = it.text;
    el.setAttribute("aria-label", noteLabel(it));
    el.classList.toggle("note-readonly", !B.canEdit());
    renderConflict(id);
  }

  // z can be any int in +-1e6; CSS stacking gets the rank among the notes (ties by id).
  let zOrder = [];
  let zIndexOf = new Map();
  function restack() {
    zOrder = stackOrder(B.items);
    zIndexOf = new Map(zOrder.map((id, i) => [id, i + 1]));
    zOrder.forEach((id, i) => {
      const el = B.els.get(id);
      if (el) el.style.zIndex = String(i + 1);
    });
  }
  function zRank(it) {
    return zIndexOf.get(it.id) || zOrder.length + 1;
  }

  function upsert(it, { flash = false } = {}) {
    const old = B.items.get(it.id);
    if (old && old.version > it.version) return false;
    B.items.set(it.id, it);
    if (!old || old.z !== it.z) restack();
    renderNote(it.id);
    if (flash) {
      const el = B.els.get(it.id);
      el.classList.remove("note-flash");
      void el.offsetWidth;
      el.classList.add("note-flash");
    }
    return true;
  }

  function removeNote(id) {
    B.items.delete(id);
    const el = B.els.get(id);
    if (el) {
      const hadFocus = el.contains(document.activeElement);
      el.remove();
      if (hadFocus) B.canvas.focus();
    }
    B.els.delete(id);
    B.conflicts.delete(id);
    restack();
  }

  // ---- conflicts: the other person's version is shown; the user's change can be reapplied
  function renderConflict(id) {
    const el = B.els.get(id);
    if (!el) return;
    const old = el.querySelector(".note-conflict");
    const c = B.conflicts.get(id);
    if (!c) {
      if (old) old.remove();
      el.classList.remove("note-conflicted");
      return;
    }
    if (old && old._c === c) return;
    if (old) old.remove();
    const box = conflictBox(id, c, el);
    el.classList.add("note-conflicted");
    el.append(box);
  }

  function conflictBox(id, c, el) {
    const who = c.who || "Someone else";
    const parts = [];
    if ("text" in c.fields) parts.push(h("div", { class: "conflict-mine" }, h("span", { class: "muted" }, "Your text:"), h("blockquote", { "data-testid": "conflict-mine" }, c.fields.text || "(empty)")));
    const desc = c.kind === "delete" ? "You tried to delete it."
      : Object.keys(c.fields).filter((k) => k !== "text").length
        ? `Your change: ${describeFields(c.fields)}.` : null;
    const box = h("div", { class: "note-conflict", role: "alert", "data-testid": "note-conflict" },
      h("strong", null, c.kind === "delete" ? `${who} changed this note before you deleted it.` : `${who} changed this note at the same time as you.`),
      h("p", { class: "muted" }, "You see their version now."),
      parts, desc ? h("p", null, desc) : null,
      h("div", { class: "conflict-actions" },
        h("button", { type: "button", class: "btn btn-primary btn-sm", "data-testid": "conflict-keep-mine", onclick: (e) => { e.stopPropagation(); keepMine(id); } },
          c.kind === "delete" ? "Delete anyway" : "Keep mine"),
        h("button", { type: "button", class: "btn btn-ghost btn-sm", "data-testid": "conflict-keep-theirs", onclick: (e) => { e.stopPropagation(); B.conflicts.delete(id); renderConflict(id); el.focus(); } },
          c.kind === "delete" ? "Keep the note" : "Keep theirs")));
    box._c = c;
    box.addEventListener("pointerdown", (e) => e.stopPropagation());
    box.addEventListener("dblclick", (e) => e.stopPropagation());
    return box;
  }

  async function keepMine(id) {
    const c = B.conflicts.get(id);
    const it = B.items.get(id);
    if (!c || !it) return;
    B.conflicts.delete(id);
    renderConflict(id);
    if (c.kind === "delete") await B.deleteNote(id, { confirmed: true });
    else await B.commit(id, c.fields, it);
    const el = B.els.get(id);
    if (el) el.focus();
  }
}
