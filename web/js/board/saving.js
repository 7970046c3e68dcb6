// The board and the outbox (../outbox.js): every change of a note is queued there, sent, retried
// and kept across a reload. This module shows that on the notes: a queued change's fields are
// drawn over the note as last saved (so a failed save never reverts typed text or snaps a
// dragged note back), each note says "Unsaved" / "Saving…", a note created here lives as
// "tmp-<key>" until its create is saved and then takes its real id, and drafts (text left with
// Escape) are kept per board in localStorage. install(B) adds view, syncOf, refreshSync,
// swapId, newKey, saveDrafts and the outbox subscription (B.stopSaving) to the board context B.
import { outbox } from "../outbox.js";

const DRAFTS = "teamboard.drafts.";

export function newKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
}

// The id a pending entry is about: a create is about its temporary note.
export const entryId = (e) => (e.kind === "create" ? `tmp-${e.key}` : e.itemId);

export function install(B) {
  Object.assign(B, { view, syncOf, refreshSync, swapId, newKey, saveDrafts, pendingFor, restorePending });
  let pend = new Map();
  const restored = new Set();  // keys of deletes restored after a reload  // id -> {fields, state: "queued"|"sending"|"conflict", entries}

  function pendingFor(id) {
    return pend.get(id) || null;
  }

  // The note as shown: the last saved item with the queued (not conflicting) changes on top.
  function view(id) {
    const it = B.items.get(id);
    const p = pend.get(id);
    if (!it || !p) return it;
    return { ...it, ...p.fields };
  }

  // "saved" | "unsaved" | "saving" | "conflict" | "draft"
  function syncOf(id) {
    const p = pend.get(id);
    if (p && p.state === "sending") return "saving";
    if (p && p.state === "queued") return "unsaved";
    if (p && p.state === "conflict") return "conflict";
    if (B.drafts.has(id)) return "draft";
    return "saved";
  }

  function refreshSync() {
    const next = new Map();
    for (const e of outbox.pending(B.board.id)) {
      const id = entryId(e);
      const p = next.get(id) || { fields: {}, state: "queued", entries: [] };
      p.entries.push(e);
      if (e.state !== "conflict" && e.kind !== "delete") Object.assign(p.fields, e.fields);
      if (e.state === "sending") p.state = "sending";
      else if (e.state === "conflict" && p.state !== "sending") p.state = "conflict";
      next.set(id, p);
    }
    const touched = new Set([...pend.keys(), ...next.keys()]);
    pend = next;
    for (const id of touched) if (B.items.has(id)) B.renderNote(id);
  }

  // A note created here got its real id: the element, the editor and every map follow it.
  function swapId(tmp, real) {
    const el = B.els.get(tmp);
    const mine = B.items.get(tmp);
    if (!mine || !el) return;
    const dup = B.els.get(real.id);
    if (dup && dup !== el) dup.remove();
    const fromEvent = B.items.get(real.id);
    for (const m of [B.els, B.drafts, B.conflicts, B.keyMoves]) {
      if (m.has(tmp)) { m.set(real.id, m.get(tmp)); m.delete(tmp); }
    }
    B.items.delete(tmp);
    B.items.set(real.id, fromEvent && fromEvent.version > real.version ? fromEvent : real);
    el._id = real.id;
    el.dataset.id = real.id;
    if (B.editing && B.editing.id === tmp) {
      B.editing.id = real.id;
      B.editing.base = { ...real };
      B.announce(real.id);
    }
    if (B.selected === tmp) B.selected = real.id;
    if (B.dragging && B.dragging.id === tmp) B.dragging.id = real.id;
    if (B.drafts.has(real.id)) B.drafts.get(real.id).base = { ...real };
    saveDrafts();
    B.restack();
    B.renderNote(real.id);
  }

  function onOutbox(msg) {
    if (B.gone || msg.boardId !== B.board.id) return;
    if (msg.state === "saved" && msg.kind === "delete") {
      B.deleting.delete(msg.itemId);  // saved (also one from before a reload): a restore may bring it back
    } else if (msg.state === "saved" && msg.reply) {
      if (msg.kind === "create") swapId(`tmp-${msg.key}`, msg.reply);
      else B.upsert(msg.reply);
    } else if (msg.kind === "delete" && (msg.state === "conflict" || msg.state === "failed") && restored.delete(msg.key)) {
      // a delete from before a reload was refused: show the note as it is now
      B.deleting.delete(msg.itemId);
      if (msg.state === "conflict") outbox.drop(msg.key);
      B.reload();
    }
    refreshSync();
  }

  // After a reload: notes created here and not saved yet come back as temporary notes, and
  // changes refused with 412 come back with their conflict box. (Queued changes are drawn by
  // view().)
  function restorePending() {
    let z = 0;
    for (const o of B.items.values()) z = Math.max(z, o.z + 1);
    for (const e of outbox.pending(B.board.id)) {
      if (e.kind === "create" && !B.items.has(entryId(e))) {
        B.items.set(entryId(e), { id: entryId(e), board_id: B.board.id, text: "", color: "#fff59d", x: 0, y: 0,
          width: 200, height: 150, z: z++, version: 0, ...e.fields });
      } else if (e.kind === "delete" && e.state !== "conflict" && B.items.has(e.itemId)) {
        B.deleting.add(e.itemId);  // deleted before the reload; the delete is still on its way
        restored.add(e.key);
        B.items.delete(e.itemId);
      } else if (e.state === "conflict" && B.items.has(e.itemId)) {
        B.conflicts.set(e.itemId, { fields: e.kind === "delete" ? {} : e.fields, theirs: B.items.get(e.itemId), kind: e.kind === "delete" ? "delete" : "update" });
      }
    }
    B.restack();
    refreshSync();
    for (const id of B.items.keys()) B.renderNote(id);
  }

  // ---- drafts: {text, base} per note, kept in localStorage so a reload keeps them too
  function saveDrafts() {
    try {
      const all = Object.fromEntries([...B.drafts].map(([id, d]) => [id, d]));
      if (B.drafts.size) localStorage.setItem(DRAFTS + B.board.id, JSON.stringify(all));
      else localStorage.removeItem(DRAFTS + B.board.id);
    } catch (_) { /* storage off: drafts live in this page */ }
  }

  function loadDrafts() {
    let all = null;
    try { all = JSON.parse(localStorage.getItem(DRAFTS + B.board.id) || "null"); } catch (_) { all = null; }
    for (const [k, d] of Object.entries(all || {})) {
      if (!d || typeof d.text !== "string" || !d.base) continue;
      B.drafts.set(/^\d+$/.test(k) ? Number(k) : k, d);
    }
  }

  loadDrafts();
  B.stopSaving = outbox.subscribe(onOutbox);
}
