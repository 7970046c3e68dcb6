// The board kept live: messages of the shared feed (live.js) — the connection state, presence,
// events (applied through state.js's eventAction) and control messages (revoked, reset,
// unauthorized) — and reloading the board when its resume point is gone. install(B) adds
// onLive, applyEvent (an event from elsewhere: an undo's reply), leave, reload and load to the
// board context B.
import { api } from "../api.js";
import { toast, ROLE_WORDS } from "../ui.js";
import { subscribe } from "../live.js";
import { eventAction, mergeItems } from "./state.js";

export function install(B) {
  Object.assign(B, { onLive, applyEvent, leave, reload, load, subscribeLive, showAway });

  // "While you were away: N changes" after an outage (the feed's "resumed"), the changed notes
  // highlighted for a few seconds.
  let awayTimer = null;
  function showAway(d) {
    const n = Number(d.count) || 0;
    if (!n) return;
    const who = Array.isArray(d.actors) && d.actors.length ? ` by ${d.actors.slice(0, 3).join(", ")}${d.actors.length > 3 ? "…" : ""}` : "";
    B.awayEl.querySelector(".away-text").textContent = `While you were away: ${n} change${n === 1 ? "" : "s"}${who}.`;
    B.awayEl.hidden = false;
    for (const id of d.itemIds || []) {
      const el = B.els.get(id);
      if (!el) continue;
      el.classList.remove("note-away");
      void el.offsetWidth;
      el.classList.add("note-away");
    }
    clearTimeout(awayTimer);
    awayTimer = setTimeout(() => {
      B.awayEl.hidden = true;
      for (const el of B.els.values()) el.classList.remove("note-away");
    }, 12000);
  }

  function onLive(msg) {
    if (B.gone) return;
    if (msg.kind === "state") B.setLive(msg.state, msg.mode);
    else if (msg.kind === "rotated") B.liveLogPush("bye");
    else if (msg.kind === "presence") { B.viewers = msg.viewers || []; B.learnPeople(B.viewers, false); B.renderPresence(); B.editorsLeft(B.viewers); }
    else if (msg.kind === "event") applyEvent(msg.type, msg.data);
    else if (msg.kind === "control") onControl(msg.type, msg.data || {});
  }

  const APPLY = {
    upsert(a) {
      if (a.actor) B.lastActor.set(a.item.id, a.actor);
      const old = B.items.get(a.item.id);
      B.upsert(a.item, { flash: a.flash });
      if (a.actor && !a.mine) B.announceChange(a.actor, old, a.item);
    },
    remove(a) {
      B.tombs.set(a.id, Math.max(B.tombs.get(a.id) || 0, a.version));
      if (!a.held) return;
      if (a.actor && !a.mine) B.announceChange(a.actor, B.items.get(a.id), null, "deleted");
      if (B.editing && B.editing.id === a.id) {
        const text = B.editing.textarea.value;
        const base = B.editing.base;
        B.editing = null;
        B.unannounce();
        B.removeNote(a.id);
        if (text !== base.text && text) {
          toast(`${a.actor || "Someone"} deleted the note you were editing.`, "warn");
          B.recreate(base, { text });
        }
        return;
      }
      B.removeNote(a.id);
    },
    board(a) {
      B.board = { ...B.board, ...a.board, role: B.board.role };
      B.renderFrame();
    },
    role(a) {
      B.board.role = a.role;
      if (!B.canEdit() && B.editing) B.finishEdit(false);
      B.renderFrame();
      toast(`Your role on this board is now ${ROLE_WORDS[a.role].toLowerCase()}.`, "info");
    },
    none() {},
  };

  function applyEvent(type, d) {
    // A new note's author is its creator; any actor may be an author with a new display name.
    if (d && d.actor) B.learnPeople([d.actor], type === "item.created" && d.item && d.item.author_id === d.actor.id);
    const a = eventAction({ boardId: B.board.id, board: B.board, me: B.me, items: B.items, tombs: B.tombs }, type, d);
    APPLY[a.op](a);
    if (B.onTrashEvent) B.onTrashEvent(type, d);
    if (B.onUndoEvent) B.onUndoEvent(type, d);
    if (B.onHistoryEvent) B.onHistoryEvent(type, d);
  }

  function onControl(type, d) {
    if (type === "unauthorized" || (type === "revoked" && d.reason === "session_ended")) {
      leave(null);
      B.sessionEnded();
    } else if (type === "revoked") {
      leave(d.reason === "board_deleted"
        ? `The board “${B.board.title}” was deleted.`
        : `You no longer have access to the board “${B.board.title}”.`);
    } else if (type === "resumed") {
      B.showAway(d);
    } else if (type === "editing" || type === "editing.end") {
      if (B.onEditing) B.onEditing(type, d);
    } else if (type === "reset") {
      // The resume point is gone from the server's log: reload the board. Repeated resets
      // (a server bug, a restored database) are spaced out instead of looping.
      const now = Date.now();
      B.resets = B.resets.filter((t) => now - t < 30000);
      B.resets.push(now);
      B.liveLogPush("reset");
      B.setLive("reconnecting", "stream");
      setTimeout(() => { if (!B.gone) reload(); }, B.resets.length > 2 ? 5000 : 0);
    }
  }

  function leave(message) {
    if (B.gone) return;
    B.gone = true;
    if (B.unsubscribe) B.unsubscribe();
    B.unsubscribe = null;
    if (message) {
      B.notice(message, "warn");
      B.go("#/boards");
    }
  }

  function subscribeLive() {
    B.unsubscribe = subscribe(B.board.id, B.board.last_event_id, onLive);
  }

  async function reload() {
    if (B.unsubscribe) B.unsubscribe();
    B.unsubscribe = null;
    try {
      const fresh = await api.board(B.board.id);
      B.board = fresh;
      B.learnPeople(fresh.authors, true);
      load(fresh.items || []);
      if (B.undoUnknown) B.undoUnknown();  // the events before the new resume point were not all seen
      B.renderFrame();
      subscribeLive();
    } catch (e) {
      if (e.status === 404 || e.status === 403) leave(`You no longer have access to the board “${B.board.title}”.`);
      else if (e.status !== 401) {
        toast(e.message, "error");
        setTimeout(() => { if (!B.gone) reload(); }, 5000);
      }
    }
  }

  function load(list) {
    const { items, removed } = mergeItems(B.items, list);
    for (const id of removed) B.removeNote(id);
    B.items.clear();
    for (const [id, it] of items) B.items.set(id, it);
    B.restack();
    for (const id of B.items.keys()) B.renderNote(id);
  }
}
