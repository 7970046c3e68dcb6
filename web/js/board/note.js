// A note's DOM: the element (text, resize handle; its actions are in the one floating toolbar,
// toolbar.js), drawing it from the item as last known with the outbox's queued changes on top,
// stacking, adding and removing notes (the conflict box is conflict.js), and its author shown by
// display name in its tooltip. install(B) adds makeNote, renderNote, restack, upsert, removeNote
// and learnPeople to the board context B (views/board.js).
import { h, personTitle, shownName } from "../ui.js";
import { isDark, noteLabel, stackOrder } from "./state.js";

// People named by a board reply (all: every one is an author), an event's actor or presence
// ({id | user_id, name, display_name}): the authors among them show by their current name.
function learnAuthors(B, list, all) {
  let changed = false;
  for (const p of list || []) {
    const id = p.id !== undefined ? p.id : p.user_id;
    const prev = B.authors.get(id);
    if ((!all && !prev) || (prev && prev.name === p.name && prev.display_name === p.display_name)) continue;
    B.authors.set(id, { id, name: p.name, display_name: p.display_name });
    changed = true;
  }
  if (changed) for (const [id, el] of B.els) renderAuthor(B, el, B.view(id));
}

// "By Mira Müller (@mira)" as the note's tooltip; "deleted user" once the author's account is
// gone (author_id null).
function renderAuthor(B, el, it) {
  if (!it) return;
  const a = it.author_id == null ? { name: "deleted user" }
    : B.authors.get(it.author_id) || (it.author_id === B.me.id ? B.me : null);
  el.title = a ? `By ${personTitle(a)}` : "";
  el.dataset.author = a ? shownName(a) : "";
}

export function install(B) {
  const learnPeople = (list, all) => learnAuthors(B, list, all);
  Object.assign(B, { makeNote, renderNote, restack, upsert, removeNote, learnPeople });
  // id -> {id, name, display_name}: the board reply's "authors", kept current by learnPeople.
  B.authors = new Map((B.board.authors || []).map((a) => [a.id, a]));

  function makeNote(id) {
    const text = h("div", { class: "note-text", "data-testid": "note-text" });
    const resize = h("div", { class: "note-resize", "data-testid": "note-resize", "aria-hidden": "true" });
    const el = h("article", {
      class: "note", tabindex: "0", "data-testid": "note", "data-id": id,
      "aria-keyshortcuts": "Enter C F Delete ArrowLeft ArrowRight ArrowUp ArrowDown",
    }, h("div", { class: "note-body" }, text), resize);
    // The element's id may change (a temporary note gets its server id): read it at event time.
    const key = () => el._id;
    el._id = id;
    el._text = text;
    el.addEventListener("pointerdown", (e) => B.onNotePointerDown(e, key()));
    el.addEventListener("dblclick", (e) => {
      e.stopPropagation();
      if (!e.target.closest(".note-conflict, .note-draft")) B.startEdit(key());
    });
    el.addEventListener("keydown", (e) => B.onNoteKey(e, key()));
    resize.addEventListener("pointerdown", (e) => B.onResizePointerDown(e, key()));
    return el;
  }

  function renderNote(id) {
    const it = B.view(id);
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
    renderAuthor(B, el, it);
    const draft = B.drafts.get(id);
    if (!(B.editing && B.editing.id === id)) el._text.textContent = draft ? draft.text : it.text;
    el.setAttribute("aria-label", noteLabel(draft ? { ...it, text: draft.text } : it) + (draft ? ", draft not saved" : ""));
    el.classList.toggle("note-readonly", !B.canEdit());
    renderSync(el, id);
    B.renderConflict(id);
    if (B.selected === id && B.positionToolbar) B.positionToolbar();
  }

  // "Unsaved" / "Saving…" while the outbox holds a change of the note; a draft's bar.
  const SYNC_WORDS = { unsaved: "Unsaved", saving: "Saving…" };
  function renderSync(el, id) {
    const state = B.syncOf(id);
    el.dataset.sync = state;
    let mark = el._sync;
    if (SYNC_WORDS[state]) {
      if (!mark) {
        mark = el._sync = h("span", { class: "note-sync", "data-testid": "note-sync" });
        el.append(mark);
      }
      mark.textContent = SYNC_WORDS[state];
    } else if (mark) {
      mark.remove();
      el._sync = null;
    }
    const draft = B.drafts.get(id);
    if (draft && !(B.editing && B.editing.id === id)) {
      if (!el._draft) {
        el._draft = h("div", { class: "note-draft", "data-testid": "note-draft", role: "group", "aria-label": "Draft" },
          h("span", null, "Draft, not saved"),
          h("button", { type: "button", class: "btn btn-primary btn-xs", "data-testid": "draft-save", onclick: (e) => { e.stopPropagation(); B.saveDraft(el._id); } }, "Save"),
          h("button", { type: "button", class: "btn btn-ghost btn-xs", "data-testid": "draft-discard", onclick: (e) => { e.stopPropagation(); B.discardDraft(el._id); } }, "Discard"));
        el._draft.addEventListener("pointerdown", (e) => e.stopPropagation());
        el._draft.addEventListener("dblclick", (e) => e.stopPropagation());
        el.append(el._draft);
      }
    } else if (el._draft) {
      el._draft.remove();
      el._draft = null;
    }
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
    if (B.deleting.has(it.id)) return false;  // deleted here, the delete is on its way
    const old = B.items.get(it.id);
    if (old && old.version > it.version) return false;
    B.items.set(it.id, it);
    if (!old || old.z !== it.z) restack();
    renderNote(it.id);
    if (B.scheduleMinimap) B.scheduleMinimap();
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
    if (B.selected === id) B.select(null);
    B.els.delete(id);
    B.conflicts.delete(id);
    restack();
    if (B.scheduleMinimap) B.scheduleMinimap();
  }
}
