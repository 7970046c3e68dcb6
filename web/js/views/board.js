// The board: sticky notes on a pannable canvas, edited with one REST call per action
// (If-Match: "<version>"), kept live by the shared event feed (live.js).
import { api } from "../api.js";
import { h, clear, icon, toast, confirmDialog, avatar, errorLine, showError, ROLE_WORDS } from "../ui.js";
import { go, notice, session, sessionEnded } from "../app.js";
import { subscribe, liveMode } from "../live.js";

export const COLORS = [
  ["#fff59d", "Yellow"], ["#ffcc80", "Orange"], ["#f8bbd0", "Pink"], ["#d1c4e9", "Lavender"],
  ["#b3e5fc", "Blue"], ["#c5e1a5", "Green"], ["#ffffff", "White"],
];
const COLOR_NAME = new Map(COLORS);
const LIMIT = 100000;
const MIN_W = 60;
const MIN_H = 40;
const MAX_WH = 4000;
const KEY_STEP = 10;
const KEY_STEP_BIG = 50;
const KEY_COMMIT_MS = 600;

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, Math.round(v)));

const LIVE_WORDS = {
  connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Offline",
};

export async function renderBoard({ view, setCleanup }, boardId) {
  const me = session.user;
  let board = await api.board(boardId);
  const items = new Map();      // id -> item as last known from the server
  const els = new Map();        // id -> note element
  const tombs = new Map();      // id -> version of a deleted item (an older create/update is dropped)
  const lastActor = new Map();  // id -> name of who changed it last (from events)
  const conflicts = new Map();  // id -> {fields, theirs, kind}
  let editing = null;           // {id, base, textarea}
  let dragging = null;          // {id, ...}
  const keyMoves = new Map();   // id -> {base, timer}
  let pan = { x: 0, y: 0 };
  let unsubscribe = null;
  let gone = false;
  let viewers = [];
  let resets = [];

  const canEdit = () => board.role !== "viewer";
  const canDeleteBoard = () => board.role === "owner" || board.role === "admin";

  // ---- frame
  const titleEl = h("h1", { class: "board-title", "data-testid": "board-title" }, board.title);
  const roleChip = h("span", { class: "chip chip-role" });
  const liveEl = h("span", { class: "live", "data-testid": "live-status", role: "status", "aria-live": "polite" },
    h("span", { class: "live-dot", "aria-hidden": "true" }), h("span", { class: "live-text" }, LIVE_WORDS.connecting));
  const presenceEl = h("ul", { class: "presence", "data-testid": "presence", "aria-label": "People viewing this board" });
  const newBtn = h("button", { type: "button", class: "btn btn-primary btn-sm", "data-testid": "new-note", onclick: () => createNoteAtCenter() },
    icon("plus"), h("span", null, "New note"));
  const renameBtn = h("button", { type: "button", class: "btn btn-ghost btn-sm", "data-testid": "board-rename", "aria-label": "Rename board", onclick: () => startRename() },
    icon("edit"), h("span", { class: "hide-narrow" }, "Rename"));
  const deleteBtn = h("button", { type: "button", class: "btn btn-ghost btn-sm btn-danger-text", "data-testid": "board-delete", "aria-label": "Delete board", onclick: () => deleteBoard() },
    icon("trash"), h("span", { class: "hide-narrow" }, "Delete"));
  const readonlyBanner = h("div", { class: "readonly-banner", "data-testid": "readonly-banner", role: "note" },
    icon("eye"), "View only: you are a viewer on this board, so you can read the notes but not change them.");
  const titleWrap = h("div", { class: "board-title-wrap" }, titleEl, roleChip);
  const bar = h("div", { class: "board-bar" },
    h("a", { href: "#/boards", class: "back-link", "aria-label": "All boards" }, icon("back"), h("span", { class: "hide-narrow" }, "Boards")),
    titleWrap,
    h("div", { class: "board-bar-right" }, liveEl, presenceEl, renameBtn, deleteBtn, newBtn));

  const world = h("div", { class: "world" });
  const canvas = h("div", {
    class: "canvas", tabindex: "0", "data-testid": "canvas", role: "region",
    "aria-label": "Board canvas. Double-click or press N to add a note; arrow keys pan.",
  }, world);
  const hint = h("div", { class: "board-hint", "aria-hidden": "true" },
    "Double-click empty space to add a note · drag to move · Enter edit · C color · F front · arrows nudge · Delete remove");
  const root = h("section", { class: "board-view", "data-board-id": board.id }, bar, readonlyBanner, canvas, hint);
  view.classList.add("view-board");
  view.append(root);

  function renderFrame() {
    titleEl.textContent = board.title;
    document.title = `${board.title} · Teamboard`;
    roleChip.textContent = ROLE_WORDS[board.role] || board.role;
    roleChip.className = `chip chip-role role-${board.role}`;
    root.classList.toggle("readonly", !canEdit());
    readonlyBanner.hidden = canEdit();
    newBtn.hidden = !canEdit();
    renameBtn.hidden = !canEdit();
    deleteBtn.hidden = !canDeleteBoard();
    for (const id of els.keys()) renderNote(id);
  }

  function setLive(state, mode) {
    liveEl.dataset.state = state;
    liveEl.dataset.mode = mode || "stream";
    let text = LIVE_WORDS[state] || state;
    if (state === "live" && mode === "poll") text = "Live (polling)";
    liveEl.querySelector(".live-text").textContent = text;
    liveEl.title = state === "live" && mode === "poll"
      ? "Changes are fetched every few seconds (the server or this browser has enough live streams open already)."
      : state === "reconnecting" ? "The connection dropped; catching up as soon as it is back."
        : state === "offline" ? "The server can't be reached; changes will appear when it is back." : "Changes from others appear at once.";
    liveLogPush(state + (mode === "poll" ? ":poll" : ""));
  }

  // What the live indicator went through, for the tests (window.__teamboard.liveLog).
  function liveLogPush(what) {
    const tb = (window.__teamboard = window.__teamboard || { liveLog: [], resets: 0 });
    tb.liveLog.push(what);
  }

  function renderPresence() {
    clear(presenceEl);
    const seen = new Set();
    const list = viewers.filter((v) => !seen.has(v.user_id) && seen.add(v.user_id));
    for (const v of list.slice(0, 6)) {
      presenceEl.append(h("li", { "data-testid": "viewer", "data-name": v.name, title: v.user_id === me.id ? `${v.name} (you)` : v.name },
        avatar(v.name), h("span", { class: "sr-only" }, v.name)));
    }
    if (list.length > 6) presenceEl.append(h("li", { class: "presence-more", title: list.slice(6).map((v) => v.name).join(", ") }, `+${list.length - 6}`));
    presenceEl.setAttribute("aria-label", list.length ? `Viewing now: ${list.map((v) => v.name).join(", ")}` : "Nobody else is viewing");
  }

  // ---- notes
  function noteLabel(it) {
    const t = (it.text || "").trim().split("\n")[0];
    return `Note${t ? ": " + (t.length > 60 ? t.slice(0, 60) + "…" : t) : " (empty)"}, ${COLOR_NAME.get(it.color) || "custom color"}`;
  }

  function makeNote(id) {
    const text = h("div", { class: "note-text", "data-testid": "note-text" });
    const palette = h("div", { class: "note-palette", role: "group", "aria-label": "Note color", hidden: true },
      COLORS.map(([c, name]) => h("button", {
        type: "button", class: "swatch", style: { background: c }, "aria-label": name, title: name,
        "data-color": c, "data-testid": "swatch",
        onclick: (e) => { e.stopPropagation(); palette.hidden = true; setColor(id, c); },
      })));
    const tools = h("div", { class: "note-tools", role: "toolbar", "aria-label": "Note actions" },
      h("button", { type: "button", class: "tool", title: "Edit text (Enter)", "aria-label": "Edit text", "data-testid": "note-edit", tabindex: "-1", onclick: (e) => { e.stopPropagation(); startEdit(id); } }, icon("edit")),
      h("button", {
        type: "button", class: "tool", title: "Color", "aria-label": "Color", "data-testid": "note-color", tabindex: "-1",
        onclick: (e) => { e.stopPropagation(); palette.hidden = !palette.hidden; if (!palette.hidden) palette.querySelector("button").focus(); },
      }, icon("palette")),
      h("button", { type: "button", class: "tool", title: "Bring to front", "aria-label": "Bring to front", "data-testid": "note-front", tabindex: "-1", onclick: (e) => { e.stopPropagation(); bringToFront(id); } }, icon("front")),
      h("button", { type: "button", class: "tool tool-danger", title: "Delete (Delete key)", "aria-label": "Delete note", "data-testid": "note-delete", tabindex: "-1", onclick: (e) => { e.stopPropagation(); deleteNote(id); } }, icon("trash")),
      palette);
    const resize = h("div", { class: "note-resize", "data-testid": "note-resize", "aria-hidden": "true" });
    const el = h("article", {
      class: "note", tabindex: "0", "data-testid": "note", "data-id": id,
      "aria-keyshortcuts": "Enter C F Delete ArrowLeft ArrowRight ArrowUp ArrowDown",
    },
      h("div", { class: "note-body" }, text), tools, resize);
    el._text = text;
    el._palette = palette;
    el.addEventListener("pointerdown", (e) => onNotePointerDown(e, id));
    el.addEventListener("dblclick", (e) => {
      e.stopPropagation();
      if (!e.target.closest(".note-tools, .note-conflict")) startEdit(id);
    });
    el.addEventListener("keydown", (e) => onNoteKey(e, id));
    resize.addEventListener("pointerdown", (e) => onResizePointerDown(e, id));
    palette.addEventListener("keydown", (e) => {
      e.stopPropagation();
      const sw = [...palette.querySelectorAll("button")];
      const i = sw.indexOf(document.activeElement);
      if (e.key === "Escape") { palette.hidden = true; el.focus(); }
      else if (e.key === "ArrowRight" || e.key === "ArrowDown") { e.preventDefault(); sw[(i + 1) % sw.length].focus(); }
      else if (e.key === "ArrowLeft" || e.key === "ArrowUp") { e.preventDefault(); sw[(i - 1 + sw.length) % sw.length].focus(); }
    });
    palette.addEventListener("focusout", (e) => {
      if (!palette.contains(e.relatedTarget)) palette.hidden = true;
    });
    return el;
  }

  function renderNote(id) {
    const it = items.get(id);
    if (!it) return;
    let el = els.get(id);
    if (!el) {
      el = makeNote(id);
      els.set(id, el);
      world.append(el);
    }
    const moving = (dragging && dragging.id === id) || keyMoves.has(id);
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
    if (!(editing && editing.id === id)) el._text.textContent = it.text;
    el.setAttribute("aria-label", noteLabel(it));
    el.classList.toggle("note-readonly", !canEdit());
    renderConflict(id);
  }

  // z can be any int in +-1e6; CSS stacking gets the rank among the notes (ties by id).
  let zOrder = [];
  function restack() {
    zOrder = [...items.values()].sort((a, b) => a.z - b.z || a.id - b.id).map((i) => i.id);
    zOrder.forEach((id, i) => {
      const el = els.get(id);
      if (el) el.style.zIndex = String(i + 1);
    });
  }
  function zRank(it) {
    const i = zOrder.indexOf(it.id);
    return i < 0 ? zOrder.length + 1 : i + 1;
  }

  function upsert(it, { flash = false } = {}) {
    const old = items.get(it.id);
    if (old && old.version > it.version) return false;
    items.set(it.id, it);
    if (!old || old.z !== it.z) restack();
    renderNote(it.id);
    if (flash) {
      const el = els.get(it.id);
      el.classList.remove("note-flash");
      void el.offsetWidth;
      el.classList.add("note-flash");
    }
    return true;
  }

  function removeNote(id) {
    items.delete(id);
    const el = els.get(id);
    if (el) {
      const hadFocus = el.contains(document.activeElement);
      el.remove();
      if (hadFocus) canvas.focus();
    }
    els.delete(id);
    conflicts.delete(id);
    restack();
  }

  // ---- conflicts: the other person's version is shown; the user's change can be reapplied
  function renderConflict(id) {
    const el = els.get(id);
    if (!el) return;
    const old = el.querySelector(".note-conflict");
    const c = conflicts.get(id);
    if (!c) {
      if (old) old.remove();
      el.classList.remove("note-conflicted");
      return;
    }
    if (old && old._c === c) return;
    if (old) old.remove();
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
        h("button", { type: "button", class: "btn btn-ghost btn-sm", "data-testid": "conflict-keep-theirs", onclick: (e) => { e.stopPropagation(); conflicts.delete(id); renderConflict(id); el.focus(); } },
          c.kind === "delete" ? "Keep the note" : "Keep theirs")));
    box._c = c;
    box.addEventListener("pointerdown", (e) => e.stopPropagation());
    box.addEventListener("dblclick", (e) => e.stopPropagation());
    el.classList.add("note-conflicted");
    el.append(box);
  }

  function describeFields(f) {
    const out = [];
    if ("x" in f || "y" in f) out.push("moved it");
    if ("width" in f || "height" in f) out.push("resized it");
    if ("color" in f) out.push(`made it ${(COLOR_NAME.get(f.color) || "another color").toLowerCase()}`);
    if ("z" in f) out.push("brought it to the front");
    return out.join(", ") || "your edit";
  }

  async function keepMine(id) {
    const c = conflicts.get(id);
    const it = items.get(id);
    if (!c || !it) return;
    conflicts.delete(id);
    renderConflict(id);
    if (c.kind === "delete") await deleteNote(id, { confirmed: true });
    else await commit(id, c.fields, it);
    const el = els.get(id);
    if (el) el.focus();
  }

  // ---- one REST call per action, conditional on the version the change was based on
  async function commit(id, fields, base, attempt = 0) {
    try {
      const it = await api.updateItem(board.id, id, fields, base.version);
      upsert(it);
      return true;
    } catch (e) {
      if (e.code === "version_mismatch" && e.current) {
        const cur = e.current;
        // The other change touched other fields only: nothing to choose, apply ours on theirs.
        const overlap = Object.keys(fields).some((k) => cur[k] !== base[k]);
        upsert(cur);
        if (!overlap && attempt < 3) return commit(id, fields, cur, attempt + 1);
        conflicts.set(id, { fields, theirs: cur, kind: "update", who: lastActor.get(id) });
        renderNote(id);
        return false;
      }
      if (e.status === 404) {
        removeNote(id);
        if (gone) return false;
        toast("That note was deleted by someone else.", "warn");
        if ("text" in fields && fields.text) recreate(base, fields);
        return false;
      }
      toast(e.message, "error");
      renderNote(id);  // back to the server's state
      return false;
    }
  }

  // The note went away while the user had typed into it: their text becomes a new note.
  async function recreate(base, fields) {
    try {
      const it = await api.createItem(board.id, {
        text: fields.text, color: base.color, x: base.x, y: base.y, width: base.width, height: base.height,
      });
      upsert(it);
      toast("Your text was saved in a new note.", "info");
    } catch (e) {
      toast(e.message, "error");
    }
  }

  async function setColor(id, color) {
    const it = items.get(id);
    if (!it || !canEdit() || it.color === color) return;
    const el = els.get(id);
    el.style.setProperty("--note", color);
    await commit(id, { color }, it);
    el.focus();
  }

  async function bringToFront(id) {
    const it = items.get(id);
    if (!it || !canEdit()) return;
    let max = -Infinity;
    let top = true;
    for (const o of items.values()) {
      if (o.id !== id && o.z >= it.z) top = false;
      max = Math.max(max, o.z);
    }
    if (top) return;
    await commit(id, { z: Math.min(max + 1, 1000000) }, it);
  }

  async function deleteNote(id, { confirmed = false } = {}) {
    const it = items.get(id);
    if (!it || !canEdit()) return;
    if (!confirmed && it.text.trim() && !(await confirmDialog("Delete this note?", { ok: "Delete" }))) {
      const el = els.get(id);
      if (el) el.focus();
      return;
    }
    try {
      await api.deleteItem(board.id, id, it.version);
      tombs.set(id, it.version + 1);
      removeNote(id);
    } catch (e) {
      if (e.code === "version_mismatch" && e.current) {
        upsert(e.current);
        conflicts.set(id, { fields: {}, theirs: e.current, kind: "delete", who: lastActor.get(id) });
        renderNote(id);
      } else if (e.status === 404) {
        removeNote(id);
      } else {
        toast(e.message, "error");
      }
    }
  }

  async function createNote(x, y, { edit = true } = {}) {
    if (!canEdit()) return;
    try {
      const it = await api.createItem(board.id, { x: clamp(x, -LIMIT, LIMIT), y: clamp(y, -LIMIT, LIMIT) });
      upsert(it);
      const el = els.get(it.id);
      el.focus();
      if (edit) startEdit(it.id);
    } catch (e) {
      toast(e.message, "error");
    }
  }

  function createNoteAtCenter() {
    const r = canvas.getBoundingClientRect();
    // a little cascade so that repeated clicks don't stack notes exactly
    const n = items.size % 6;
    createNote(r.width / 2 - pan.x - 100 + n * 18, Math.min(r.height / 2, 260) - pan.y - 75 + n * 18);
  }

  // ---- editing text in place
  function startEdit(id) {
    if (!canEdit() || (editing && editing.id === id)) return;
    if (editing) finishEdit(true);
    const it = items.get(id);
    const el = els.get(id);
    if (!it || !el) return;
    const ta = h("textarea", { class: "note-input", "aria-label": "Note text", "data-testid": "note-input", maxlength: 10000, spellcheck: "true" });
    ta.value = it.text;
    editing = { id, base: { ...it }, textarea: ta };
    el.classList.add("note-editing");
    el._text.replaceWith(ta);
    ta.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Escape") { e.preventDefault(); finishEdit(false); }
      else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); finishEdit(true); }
    });
    ta.addEventListener("blur", () => { if (editing && editing.textarea === ta) finishEdit(true, { keepFocus: false }); });
    ta.addEventListener("pointerdown", (e) => e.stopPropagation());
    ta.focus();
    ta.setSelectionRange(ta.value.length, ta.value.length);
  }

  function finishEdit(save, { keepFocus = true } = {}) {
    if (!editing) return;
    const { id, base, textarea } = editing;
    editing = null;
    const el = els.get(id);
    const text = textarea.value;
    if (el) {
      el.classList.remove("note-editing");
      textarea.replaceWith(el._text);
      el._text.textContent = save ? text : (items.get(id) || base).text;
      if (keepFocus) el.focus();
    }
    if (save && text !== base.text) {
      if (!items.has(id)) {
        if (text) recreate(base, { text });
        return;
      }
      commit(id, { text }, base);
    } else if (el) {
      renderNote(id);
    }
  }

  // ---- pointer: drag to move (mouse, pen and touch alike), resize handle, pan
  function onNotePointerDown(e, id) {
    if (e.target.closest(".note-tools, .note-resize, .note-conflict, textarea")) return;
    if (e.pointerType === "mouse" && e.button !== 0) return;
    const el = els.get(id);
    const it = items.get(id);
    if (!el || !it) return;
    e.stopPropagation();
    if (!canEdit()) return;
    e.preventDefault();  // no text selection; focus is set on release
    el.setPointerCapture(e.pointerId);
    const d = { id, el, pointerId: e.pointerId, sx: e.clientX, sy: e.clientY, base: { ...it }, moved: false, x: it.x, y: it.y };
    const move = (ev) => {
      if (ev.pointerId !== d.pointerId) return;
      const dx = ev.clientX - d.sx;
      const dy = ev.clientY - d.sy;
      if (!d.moved && Math.hypot(dx, dy) < 4) return;
      if (!d.moved) {
        d.moved = true;
        dragging = d;
        el.classList.add("note-dragging");
      }
      d.x = clamp(d.base.x + dx, -LIMIT, LIMIT);
      d.y = clamp(d.base.y + dy, -LIMIT, LIMIT);
      el.style.left = d.x + "px";
      el.style.top = d.y + "px";
    };
    const up = (ev) => {
      if (ev.pointerId !== d.pointerId) return;
      el.removeEventListener("pointermove", move);
      el.removeEventListener("pointerup", up);
      el.removeEventListener("pointercancel", up);
      el.classList.remove("note-dragging");
      if (dragging === d) dragging = null;
      el.focus({ preventScroll: true });
      if (d.moved && ev.type === "pointerup" && (d.x !== d.base.x || d.y !== d.base.y)) {
        commit(id, { x: d.x, y: d.y }, d.base);
      } else {
        renderNote(id);
      }
    };
    el.addEventListener("pointermove", move);
    el.addEventListener("pointerup", up);
    el.addEventListener("pointercancel", up);
  }

  function onResizePointerDown(e, id) {
    if (!canEdit()) return;
    if (e.pointerType === "mouse" && e.button !== 0) return;
    const el = els.get(id);
    const it = items.get(id);
    if (!el || !it) return;
    e.stopPropagation();
    e.preventDefault();
    const handle = e.currentTarget;
    handle.setPointerCapture(e.pointerId);
    const d = { id, el, pointerId: e.pointerId, sx: e.clientX, sy: e.clientY, base: { ...it }, w: it.width, hh: it.height, moved: false };
    dragging = d;
    el.classList.add("note-resizing");
    const move = (ev) => {
      if (ev.pointerId !== d.pointerId) return;
      d.moved = true;
      d.w = clamp(d.base.width + ev.clientX - d.sx, MIN_W, MAX_WH);
      d.hh = clamp(d.base.height + ev.clientY - d.sy, MIN_H, MAX_WH);
      el.style.width = d.w + "px";
      el.style.height = d.hh + "px";
    };
    const up = (ev) => {
      if (ev.pointerId !== d.pointerId) return;
      handle.removeEventListener("pointermove", move);
      handle.removeEventListener("pointerup", up);
      handle.removeEventListener("pointercancel", up);
      el.classList.remove("note-resizing");
      if (dragging === d) dragging = null;
      el.focus({ preventScroll: true });
      if (d.moved && ev.type === "pointerup" && (d.w !== d.base.width || d.hh !== d.base.height)) {
        commit(id, { width: d.w, height: d.hh }, d.base);
      } else {
        renderNote(id);
      }
    };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", up);
    handle.addEventListener("pointercancel", up);
  }

  canvas.addEventListener("pointerdown", (e) => {
    if (e.target !== canvas && e.target !== world) return;
    if (e.pointerType === "mouse" && e.button !== 0) return;
    const start = { x: e.clientX, y: e.clientY, px: pan.x, py: pan.y };
    canvas.setPointerCapture(e.pointerId);
    canvas.classList.add("panning");
    const move = (ev) => {
      pan.x = start.px + ev.clientX - start.x;
      pan.y = start.py + ev.clientY - start.y;
      applyPan();
    };
    const up = () => {
      canvas.classList.remove("panning");
      canvas.removeEventListener("pointermove", move);
      canvas.removeEventListener("pointerup", up);
      canvas.removeEventListener("pointercancel", up);
    };
    canvas.addEventListener("pointermove", move);
    canvas.addEventListener("pointerup", up);
    canvas.addEventListener("pointercancel", up);
  });
  canvas.addEventListener("dblclick", (e) => {
    if (e.target !== canvas && e.target !== world) return;
    const r = canvas.getBoundingClientRect();
    createNote(e.clientX - r.left - pan.x - 100, e.clientY - r.top - pan.y - 75);
  });
  canvas.addEventListener("wheel", (e) => {
    if (e.ctrlKey) return;
    e.preventDefault();
    pan.x -= e.deltaX;
    pan.y -= e.deltaY;
    applyPan();
  }, { passive: false });
  canvas.addEventListener("keydown", (e) => {
    if (e.target !== canvas) return;
    const step = e.shiftKey ? 200 : 60;
    const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[e.key]) {
      e.preventDefault();
      pan.x += moves[e.key][0];
      pan.y += moves[e.key][1];
      applyPan();
    } else if ((e.key === "n" || e.key === "N") && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      createNoteAtCenter();
    }
  });
  // Focusing a note off-screen (Tab) makes the browser scroll the canvas to show it: turn that
  // scroll into pan, so that positions on the canvas keep one meaning.
  canvas.addEventListener("scroll", () => {
    if (!canvas.scrollLeft && !canvas.scrollTop) return;
    pan.x -= canvas.scrollLeft;
    pan.y -= canvas.scrollTop;
    canvas.scrollLeft = 0;
    canvas.scrollTop = 0;
    applyPan();
  });
  function applyPan() {
    world.style.transform = `translate(${pan.x}px, ${pan.y}px)`;
    canvas.style.backgroundPosition = `${pan.x}px ${pan.y}px`;
  }

  // ---- keyboard on a note
  function onNoteKey(e, id) {
    if (e.target !== els.get(id)) return;  // keys inside the toolbar / editor are theirs
    const it = items.get(id);
    if (!it) return;
    const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (e.key === "Enter" || e.key === "F2") {
      e.preventDefault();
      startEdit(id);
    } else if (arrows[e.key] && canEdit()) {
      e.preventDefault();
      const step = e.shiftKey ? KEY_STEP_BIG : KEY_STEP;
      let km = keyMoves.get(id);
      if (!km) {
        km = { base: { ...it }, x: it.x, y: it.y, timer: null };
        keyMoves.set(id, km);
      }
      km.x = clamp(km.x + arrows[e.key][0] * step, -LIMIT, LIMIT);
      km.y = clamp(km.y + arrows[e.key][1] * step, -LIMIT, LIMIT);
      const el = els.get(id);
      el.style.left = km.x + "px";
      el.style.top = km.y + "px";
      clearTimeout(km.timer);
      km.timer = setTimeout(() => flushKeyMove(id), KEY_COMMIT_MS);
    } else if ((e.key === "Delete" || e.key === "Backspace") && canEdit()) {
      e.preventDefault();
      deleteNote(id);
    } else if ((e.key === "f" || e.key === "F") && !e.ctrlKey && !e.metaKey && canEdit()) {
      e.preventDefault();
      bringToFront(id);
    } else if ((e.key === "c" || e.key === "C") && !e.ctrlKey && !e.metaKey && canEdit()) {
      e.preventDefault();
      const el = els.get(id);
      el._palette.hidden = false;
      const current = el._palette.querySelector(`[data-color="${it.color}"]`) || el._palette.querySelector("button");
      current.focus();
    } else if (e.key === "Escape") {
      canvas.focus();
    }
  }

  function flushKeyMove(id) {
    const km = keyMoves.get(id);
    if (!km) return;
    clearTimeout(km.timer);
    keyMoves.delete(id);
    if (km.x !== km.base.x || km.y !== km.base.y) commit(id, { x: km.x, y: km.y }, km.base);
  }

  // ---- board actions
  function startRename() {
    const input = h("input", { value: board.title, maxlength: 200, "aria-label": "Board title", "data-testid": "board-rename-input", class: "title-input" });
    const err = errorLine();
    const form = h("form", { class: "rename-form" }, input,
      h("button", { type: "submit", class: "btn btn-primary btn-sm", "data-testid": "board-rename-save" }, "Save"),
      h("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: () => done() }, "Cancel"), err);
    const done = () => { form.remove(); titleWrap.hidden = false; renameBtn.focus(); };
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const t = input.value.trim();
      if (!t) return showError(err, "Please give the board a title.");
      try {
        board = { ...board, ...(await api.renameBoard(board.id, t, board.version)) };
        renderFrame();
        done();
      } catch (ex) {
        if (ex.code === "version_mismatch" && ex.current) {
          board = { ...board, ...ex.current, role: board.role };
          renderFrame();
          showError(err, `Someone renamed it to “${ex.current.title}” meanwhile. Save again to use your title.`);
        } else showError(err, ex.message);
      }
    });
    input.addEventListener("keydown", (e) => { if (e.key === "Escape") done(); });
    titleWrap.hidden = true;
    titleWrap.after(form);
    input.focus();
    input.select();
  }

  async function deleteBoard() {
    if (!(await confirmDialog(`Delete the board “${board.title}” and all its notes for everyone? This cannot be undone.`))) return;
    try {
      await api.deleteBoard(board.id, board.version);
      gone = true;
      toast(`Board “${board.title}” deleted.`);
      go("#/boards");
    } catch (e) {
      toast(e.code === "version_mismatch" ? "Someone changed this board just now; please try again." : e.message, "error");
      if (e.current) { board = { ...board, ...e.current, role: board.role }; renderFrame(); }
    }
  }

  // ---- live
  function onLive(msg) {
    if (gone) return;
    if (msg.kind === "state") setLive(msg.state, msg.mode);
    else if (msg.kind === "rotated") liveLogPush("bye");
    else if (msg.kind === "presence") { viewers = msg.viewers || []; renderPresence(); }
    else if (msg.kind === "event") applyEvent(msg.type, msg.data);
    else if (msg.kind === "control") onControl(msg.type, msg.data || {});
  }

  function applyEvent(type, d) {
    if (!d) return;
    const actor = d.actor && d.actor.name;
    if (type === "item.created" || type === "item.updated") {
      const it = d.item;
      if (!it || it.board_id !== board.id) return;
      if ((tombs.get(it.id) || 0) >= it.version) return;
      const local = items.get(it.id);
      if (local && local.version >= it.version) return;  // our own change, or older news
      if (actor) lastActor.set(it.id, actor);
      upsert(it, { flash: !!local && actor !== me.name });
    } else if (type === "item.deleted") {
      const it = d.item;
      if (!it) return;
      tombs.set(it.id, Math.max(tombs.get(it.id) || 0, it.version || 0));
      if (!items.has(it.id)) return;
      if (editing && editing.id === it.id) {
        const text = editing.textarea.value;
        const base = editing.base;
        editing = null;
        removeNote(it.id);
        if (text !== base.text && text) {
          toast(`${actor || "Someone"} deleted the note you were editing.`, "warn");
          recreate(base, { text });
        }
        return;
      }
      removeNote(it.id);
    } else if (type === "board.updated") {
      const b = d.board;
      if (b && b.version > board.version) {
        board = { ...board, ...b, role: board.role };
        renderFrame();
      }
    } else if (type.startsWith("member.")) {
      const m = d.member;
      if (!m || m.user_id !== me.id || m.team_id !== board.team_id || board.role === "owner") return;
      if (m.role && m.role !== board.role) {
        board.role = m.role;
        if (!canEdit() && editing) finishEdit(false);
        renderFrame();
        toast(`Your role on this board is now ${ROLE_WORDS[m.role].toLowerCase()}.`, "info");
      }
    }
  }

  function onControl(type, d) {
    if (type === "unauthorized" || (type === "revoked" && d.reason === "session_ended")) {
      leave(null);
      sessionEnded();
    } else if (type === "revoked") {
      leave(d.reason === "board_deleted"
        ? `The board “${board.title}” was deleted.`
        : `You no longer have access to the board “${board.title}”.`);
    } else if (type === "reset") {
      // The resume point is gone from the server's log: reload the board. Repeated resets
      // (a server bug, a restored database) are spaced out instead of looping.
      const now = Date.now();
      resets = resets.filter((t) => now - t < 30000);
      resets.push(now);
      liveLogPush("reset");
      setLive("reconnecting", "stream");
      setTimeout(() => { if (!gone) reload(); }, resets.length > 2 ? 5000 : 0);
    }
  }

  function leave(message) {
    if (gone) return;
    gone = true;
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
    if (message) {
      notice(message, "warn");
      go("#/boards");
    }
  }

  async function reload() {
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
    try {
      const fresh = await api.board(board.id);
      board = fresh;
      load(fresh.items || []);
      renderFrame();
      unsubscribe = subscribe(board.id, board.last_event_id, onLive);
    } catch (e) {
      if (e.status === 404 || e.status === 403) leave(`You no longer have access to the board “${board.title}”.`);
      else if (e.status !== 401) {
        toast(e.message, "error");
        setTimeout(() => { if (!gone) reload(); }, 5000);
      }
    }
  }

  function load(list) {
    const seen = new Set();
    for (const it of list) {
      seen.add(it.id);
      const old = items.get(it.id);
      if (!old || old.version !== it.version) items.set(it.id, it);
    }
    for (const id of [...items.keys()]) if (!seen.has(id)) removeNote(id);
    restack();
    for (const id of items.keys()) renderNote(id);
  }

  // ---- start
  load(board.items || []);
  if (items.size) {
    let minX = Infinity;
    let minY = Infinity;
    for (const it of items.values()) { minX = Math.min(minX, it.x); minY = Math.min(minY, it.y); }
    const r = canvas.getBoundingClientRect();
    if (minX < 0 || minX > r.width - 80) pan.x = 24 - minX;
    if (minY < 0 || minY > r.height - 60) pan.y = 24 - minY;
  }
  applyPan();
  renderFrame();
  setLive("connecting", "stream");
  renderPresence();
  unsubscribe = subscribe(board.id, board.last_event_id, onLive);
  root.dataset.liveMode = liveMode();

  setCleanup(() => {
    gone = true;
    for (const id of [...keyMoves.keys()]) flushKeyMove(id);
    if (editing) {
      // Leaving the page saves what was typed (gone is set, so nothing is re-rendered).
      const { id, base, textarea } = editing;
      editing = null;
      if (textarea.value !== base.text) api.updateItem(board.id, id, { text: textarea.value }, base.version).catch((e) => toast(e.message, "error"));
    }
    if (unsubscribe) unsubscribe();
    document.title = "Teamboard";
  });
}

function isDark(hex) {
  const m = /^#([0-9a-f]{6})$/i.exec(hex || "");
  if (!m) return false;
  const n = parseInt(m[1], 16);
  const lum = (0.299 * ((n >> 16) & 255) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
  return lum < 0.5;
}
