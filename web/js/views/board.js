// The board: sticky notes on a pannable canvas; every change goes through the outbox (queued,
// retried, kept across a reload), kept live by the shared event feed (live.js).
//
// renderBoard builds one board context B (the board, the notes held, what is being dragged or
// edited) and lets the modules in ../board/ add their functions to it:
//   state.js     pure functions over items, events and replies (unit-tested with node --test)
//   frame.js     the bar, the live status, presence, rename and delete of the board
//   note.js      a note's DOM, stacking
//   conflict.js  the conflict box (someone changed the note at the same time)
//   toolbar.js   the selection and the one floating toolbar of the selected note
//   actions.js   the REST calls that change notes
//   editor.js    editing a note's text
//   zoom.js      zoom, the view transform, the minimap
//   gestures.js  drag (with auto-pan at the edges), resize, pan
//   keys.js      the keyboard
//   sync.js      live events and reloads
//   editing.js   "being edited by X": announcing our editor, badges of others
//   announce.js  remote changes read out (a polite live region)
//   saving.js    the outbox on the notes: unsaved marks, temporary notes, drafts
//   trash.js     the board's trash panel: deleted notes, restore
//   undo.js      undo and redo: the bar's buttons, Ctrl+Z / Ctrl+Shift+Z / Ctrl+Y
//   history.js   the history panel: the slider, the board read-only as it was, play, restore
//   since.js     "since your last visit": the marks on changed notes and their list in the panel
//   share.js     the "Share" dialog: public read-only links
import { api } from "../api.js";
import { session, go, notice, sessionEnded } from "../shell.js";
import { toast } from "../ui.js";
import { liveMode } from "../live.js";
import { COLORS, initialPan } from "../board/state.js";
import * as frame from "../board/frame.js";
import * as note from "../board/note.js";
import * as conflict from "../board/conflict.js";
import * as actions from "../board/actions.js";
import * as editor from "../board/editor.js";
import * as zoom from "../board/zoom.js";
import * as gestures from "../board/gestures.js";
import * as keys from "../board/keys.js";
import * as toolbar from "../board/toolbar.js";
import * as editing from "../board/editing.js";
import * as announce from "../board/announce.js";
import * as sync from "../board/sync.js";
import * as saving from "../board/saving.js";
import * as trash from "../board/trash.js";
import * as undo from "../board/undo.js";
import * as history from "../board/history.js";
import * as since from "../board/since.js";
import * as share from "../board/share.js";
import { outbox } from "../outbox.js";

export { COLORS };

export async function renderBoard({ view, setCleanup }, boardId) {
  const B = {
    me: session.user,
    board: await api.board(boardId),
    items: new Map(),      // id -> item as last known from the server
    els: new Map(),        // id -> note element
    tombs: new Map(),      // id -> version of a deleted item (an older create/update is dropped)
    lastActor: new Map(),  // id -> name of who changed it last (from events)
    conflicts: new Map(),  // id -> {fields, theirs, kind}
    editing: null,         // {id, base, textarea}
    dragging: null,        // {id, ...}
    keyMoves: new Map(),   // id -> {base, timer}
    drafts: new Map(),     // id -> {text, base}: text left with Escape, not saved (saving.js)
    deleting: new Set(),   // ids deleted here whose delete is still in the outbox
    pan: { x: 0, y: 0 },
    unsubscribe: null,
    gone: false,
    viewers: [],
    resets: [],
    go, notice, sessionEnded,  // the shell's, passed in (board/*.js do not import the shell)
  };
  B.canEdit = () => B.board.role !== "viewer";
  B.canDeleteBoard = () => B.board.role === "owner" || B.board.role === "admin";

  frame.build(B);
  for (const m of [frame, saving, note, conflict, actions, editor, zoom, toolbar, gestures, keys, editing, announce, sync, trash, undo, history, since, share]) m.install(B);
  view.classList.add("view-board");
  view.append(B.root);

  B.load(B.board.items || []);
  B.restorePending();
  const r = B.canvas.getBoundingClientRect();
  B.pan = initialPan(B.items, r.width, r.height);
  B.applyPan();
  B.renderFrame();
  B.setLive("connecting", "stream");
  B.renderPresence();
  B.subscribeLive();
  B.root.dataset.liveMode = liveMode();
  // After opening a board, focus is on its heading (screen readers start there).
  requestAnimationFrame(() => { if (!B.gone && !B.root.contains(document.activeElement)) B.titleEl.focus({ preventScroll: true }); });

  setCleanup(() => {
    B.gone = true;
    for (const id of [...B.keyMoves.keys()]) B.flushKeyMove(id);
    if (B.editing) {
      // Leaving the page saves what was typed (gone is set, so nothing is re-rendered).
      const { id, base, textarea } = B.editing;
      B.editing = null;
      if (textarea.value !== base.text) {
        outbox.send({ boardId: B.board.id, itemId: id, kind: "update", fields: { text: textarea.value }, version: base.version })
          .catch((e) => toast(e.message, "error"));
      }
    }
    if (B.unsubscribe) B.unsubscribe();
    B.stopSaving();
    B.unannounce();
    if (B.stopPinch) B.stopPinch();
    document.title = "Teamboard";
  });
}
