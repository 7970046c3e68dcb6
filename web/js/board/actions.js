// Changing notes: every change goes through the outbox (../outbox.js; text and colour
// conditional on the version they were based on, If-Match; position, size, z last-writer-wins) — create, update (commit), recolour, bring to front, delete, and recreating a
// note someone deleted while this user typed into it. install(B) adds commit, recreate,
// setColor, bringToFront, deleteNote, createNote, createNoteAtCenter to the board context B.
import { toast, confirmDialog } from "../ui.js";
import { outbox } from "../outbox.js";
import { clamp, LIMIT, frontZ, freeSpot, COLORS, NOTE_W, NOTE_H, MAX_Z } from "./state.js";

const LWW = new Set(["x", "y", "width", "height", "z"]);

export function install(B) {
  Object.assign(B, { keepTheirs, commit, recreate, setColor, bringToFront, deleteNote, createNote, createNoteAtCenter });

  // An update through the outbox: position, size and stacking are last-writer-wins (no
  // If-Match); text and colour carry the version they were based on (412: the conflict box).
  async function commit(id, fields, base, attempt = 0) {
    const lww = Object.keys(fields).every((k) => LWW.has(k));
    try {
      const it = await outbox.send({ boardId: B.board.id, itemId: id, kind: "update", fields, version: lww ? undefined : base.version });
      if (it) B.upsert(it);
      return true;
    } catch (e) {
      id = outbox.resolveId(id);
      if (e.status === 412 && e.current) {
        const cur = e.current;
        // The other change touched other fields only: nothing to choose, apply ours on theirs.
        const overlap = Object.keys(fields).some((k) => cur[k] !== base[k]);
        B.upsert(cur);
        if (!overlap && attempt < 3) return commit(id, fields, cur, attempt + 1);
        B.conflicts.set(id, { fields, theirs: cur, kind: "update", who: B.lastActor.get(id) });
        B.renderNote(id);
        return false;
      }
      if (e.status === 0 && e.code === "superseded") return false;  // a newer change of it was sent
      if (e.status === 404) {
        B.removeNote(id);
        if (B.gone) return false;
        toast("That note was deleted by someone else.", "warn");
        if ("text" in fields && fields.text) recreate(base, fields);
        return false;
      }
      if (!B.gone) toast(e.message, "error");
      B.renderNote(id);  // back to the server's state
      return false;
    }
  }

  // "Keep theirs" in the conflict box: our refused change is forgotten.
  function keepTheirs(id) {
    B.conflicts.delete(id);
    const p = B.pendingFor(id);
    for (const e of (p && p.entries) || []) if (e.state === "conflict") outbox.drop(e.key);
    B.renderNote(id);
  }

  // The note went away while the user had typed into it: their text becomes a new note.
  function recreate(base, fields) {
    const key = B.newKey();
    const tmp = `tmp-${key}`;
    const body = { text: fields.text, color: base.color, x: base.x, y: base.y, width: base.width, height: base.height };
    B.upsert({ ...base, ...body, id: tmp, version: 0 });
    outbox.send({ boardId: B.board.id, itemId: null, kind: "create", fields: body, key })
      .then(() => toast("Your text was saved in a new note.", "info"))
      .catch((e) => toast(e.message, "error"));
    B.refreshSync();
  }

  async function setColor(id, color) {
    const it = B.items.get(id);
    if (!it || !B.canEdit() || it.color === color) return;
    const el = B.els.get(id);
    el.style.setProperty("--note", color);
    el.focus();  // now, not after the save (which may come while the user does something else)
    await commit(id, { color }, it);
  }

  async function bringToFront(id) {
    const it = B.items.get(id);
    if (!it || !B.canEdit()) return;
    const z = frontZ(B.items, id);
    if (z === null) return;
    await commit(id, { z }, it);
  }

  async function deleteNote(id, { confirmed = false, attempt = 0, base = null } = {}) {
    const asked = base || B.items.get(id);
    if (!asked || !B.canEdit()) return;
    const shown = (!base && B.view(id)) || asked;  // with our own changes still on their way
    if (!confirmed && asked.text.trim() && !(await confirmDialog("Delete this note?", { ok: "Delete" }))) {
      const el = B.els.get(id);
      if (el) el.focus();
      return;
    }
    // Our own change saved while the dialog was open (a colour, a move) gave the note a newer
    // version: the delete carries that one. A change by someone else to the text or colour
    // meanwhile keeps the version asked about, so the server refuses it (the conflict box).
    id = outbox.resolveId(id);
    let it = base;
    if (!it) {
      const now = B.items.get(id);
      if (!now) return;  // deleted by someone else meanwhile
      it = now.text === shown.text && now.color === shown.color ? now : asked;
    }
    // Gone at once; the outbox sends the delete (with the version it was based on).
    B.tombs.set(id, Math.max(B.tombs.get(id) || 0, it.version));
    B.deleting.add(id);
    B.removeNote(id);
    try {
      await outbox.send({ boardId: B.board.id, itemId: id, kind: "delete", version: typeof id === "number" ? it.version : undefined });
      B.tombs.set(outbox.resolveId(id), it.version + 1);
      B.deleting.delete(outbox.resolveId(id));  // saved: the tomb keeps older events out, a restore may bring it back
    } catch (e) {
      if (e.status === 412 && e.current && attempt < 3 && e.current.text === shown.text && e.current.color === shown.color) {
        // only position, size or stacking changed meanwhile (our own moves, or last-writer-wins
        // ones): not worth a question, delete what is there now
        return deleteNote(id, { confirmed: true, attempt: attempt + 1, base: e.current });
      }
      if (e.status === 412 && e.current) {
        const cur = e.current;
        B.tombs.delete(cur.id);
        B.deleting.delete(cur.id);
        B.upsert(cur);
        B.conflicts.set(cur.id, { fields: {}, theirs: cur, kind: "delete", who: B.lastActor.get(cur.id) });
        B.renderNote(cur.id);
        const p = B.pendingFor(cur.id);
        for (const x of (p && p.entries) || []) if (x.state === "conflict" && x.kind === "delete") outbox.drop(x.key);
      } else if (e.status !== 404 && e.status !== 0 && !B.gone) {
        toast(e.message, "error");  // (0: superseded or dropped, nothing to say)
      }
    }
  }

  // The note appears at once as "tmp-<key>" with its editor open, so that every key typed goes
  // into it; the outbox sends the create (Idempotency-Key: key) and saving.js swaps in the real id.
  function createNote(x, y, { edit = true } = {}) {
    if (!B.canEdit()) return null;
    const key = B.newKey();
    const tmp = `tmp-${key}`;
    const fields = { x: clamp(x, -LIMIT, LIMIT), y: clamp(y, -LIMIT, LIMIT) };
    let z = 0;
    for (const o of B.items.values()) z = Math.max(z, o.z + 1);
    B.upsert({ id: tmp, board_id: B.board.id, text: "", color: COLORS[0][0], width: NOTE_W, height: NOTE_H,
      z: Math.min(z, MAX_Z), version: 0, ...fields });
    B.els.get(tmp).focus();
    if (edit) B.startEdit(tmp);
    outbox.send({ boardId: B.board.id, itemId: null, kind: "create", fields, key }).catch((e) => {
      if (B.gone) return;
      toast(e.message, "error");
      const text = B.editing && B.editing.id === tmp ? B.editing.textarea.value : "";
      if (!text && !B.drafts.has(tmp)) B.removeNote(tmp);
    });
    B.refreshSync();
    return tmp;
  }

  // "New note" and N: in the free space nearest to the middle of the view.
  function createNoteAtCenter() {
    const v = B.viewRect();
    const p = freeSpot([...B.items.keys()].map((i) => B.view(i)), v.x + v.w / 2, v.y + Math.min(v.h / 2, 260 / B.zoom), NOTE_W, NOTE_H, v);
    return createNote(p.x, p.y);
  }
}
