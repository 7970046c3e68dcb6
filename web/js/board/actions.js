// Changing notes: one REST call per action, conditional on the version the change was based
// on (If-Match) — create, update (commit), recolour, bring to front, delete, and recreating a
// note someone deleted while this user typed into it. install(B) adds commit, recreate,
// setColor, bringToFront, deleteNote, createNote, createNoteAtCenter to the board context B.
import { api } from "../api.js";
import { toast, confirmDialog } from "../ui.js";
import { clamp, LIMIT, frontZ } from "./state.js";

export function install(B) {
  Object.assign(B, { commit, recreate, setColor, bringToFront, deleteNote, createNote, createNoteAtCenter });

  async function commit(id, fields, base, attempt = 0) {
    try {
      const it = await api.updateItem(B.board.id, id, fields, base.version);
      B.upsert(it);
      return true;
    } catch (e) {
      if (e.code === "version_mismatch" && e.current) {
        const cur = e.current;
        // The other change touched other fields only: nothing to choose, apply ours on theirs.
        const overlap = Object.keys(fields).some((k) => cur[k] !== base[k]);
        B.upsert(cur);
        if (!overlap && attempt < 3) return commit(id, fields, cur, attempt + 1);
        B.conflicts.set(id, { fields, theirs: cur, kind: "update", who: B.lastActor.get(id) });
        B.renderNote(id);
        return false;
      }
      if (e.status === 404) {
        B.removeNote(id);
        if (B.gone) return false;
        toast("That note was deleted by someone else.", "warn");
        if ("text" in fields && fields.text) recreate(base, fields);
        return false;
      }
      toast(e.message, "error");
      B.renderNote(id);  // back to the server's state
      return false;
    }
  }

  // The note went away while the user had typed into it: their text becomes a new note.
  async function recreate(base, fields) {
    try {
      const it = await api.createItem(B.board.id, {
        text: fields.text, color: base.color, x: base.x, y: base.y, width: base.width, height: base.height,
      });
      B.upsert(it);
      toast("Your text was saved in a new note.", "info");
    } catch (e) {
      toast(e.message, "error");
    }
  }

  async function setColor(id, color) {
    const it = B.items.get(id);
    if (!it || !B.canEdit() || it.color === color) return;
    const el = B.els.get(id);
    el.style.setProperty("--note", color);
    await commit(id, { color }, it);
    el.focus();
  }

  async function bringToFront(id) {
    const it = B.items.get(id);
    if (!it || !B.canEdit()) return;
    const z = frontZ(B.items, id);
    if (z === null) return;
    await commit(id, { z }, it);
  }

  async function deleteNote(id, { confirmed = false } = {}) {
    const it = B.items.get(id);
    if (!it || !B.canEdit()) return;
    if (!confirmed && it.text.trim() && !(await confirmDialog("Delete this note?", { ok: "Delete" }))) {
      const el = B.els.get(id);
      if (el) el.focus();
      return;
    }
    try {
      await api.deleteItem(B.board.id, id, it.version);
      B.tombs.set(id, it.version + 1);
      B.removeNote(id);
    } catch (e) {
      if (e.code === "version_mismatch" && e.current) {
        B.upsert(e.current);
        B.conflicts.set(id, { fields: {}, theirs: e.current, kind: "delete", who: B.lastActor.get(id) });
        B.renderNote(id);
      } else if (e.status === 404) {
        B.removeNote(id);
      } else {
        toast(e.message, "error");
      }
    }
  }

  async function createNote(x, y, { edit = true } = {}) {
    if (!B.canEdit()) return;
    try {
      const it = await api.createItem(B.board.id, { x: clamp(x, -LIMIT, LIMIT), y: clamp(y, -LIMIT, LIMIT) });
      B.upsert(it);
      const el = B.els.get(it.id);
      el.focus();
      if (edit) B.startEdit(it.id);
    } catch (e) {
      toast(e.message, "error");
    }
  }

  function createNoteAtCenter() {
    const r = B.canvas.getBoundingClientRect();
    // a little cascade so that repeated clicks don't stack notes exactly
    const n = B.items.size % 6;
    createNote(r.width / 2 - B.pan.x - 100 + n * 18, Math.min(r.height / 2, 260) - B.pan.y - 75 + n * 18);
  }
}
