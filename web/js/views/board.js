// The board: sticky notes on a pannable canvas, edited with one REST call per action
// (If-Match: "<version>"), kept live by the shared event feed (live.js).
//
// renderBoard builds one board context B (the board, the notes held, what is being dragged or
// edited) and lets the modules in ../board/ add their functions to it:
//   state.js     pure functions over items, events and replies (unit-tested with node --test)
//   frame.js     the bar, the live status, presence, rename and delete of the board
//   note.js      a note's DOM, stacking, the conflict box
//   actions.js   the REST calls that change notes
//   editor.js    editing a note's text
//   gestures.js  drag, resize, pan
//   keys.js      the keyboard
//   sync.js      live events and reloads
import { api } from "../api.js";
import { session } from "../app.js";
import { toast } from "../ui.js";
import { liveMode } from "../live.js";
import { COLORS, initialPan } from "../board/state.js";
import * as frame from "../board/frame.js";
import * as note from "../board/note.js";
import * as actions from "../board/actions.js";
import * as editor from "../board/editor.js";
import * as gestures from "../board/gestures.js";
import * as keys from "../board/keys.js";
import * as sync from "../board/sync.js";

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
    pan: { x: 0, y: 0 },
    unsubscribe: null,
    gone: false,
    viewers: [],
    resets: [],
  };
  B.canEdit = () => B.board.role !== "viewer";
  B.canDeleteBoard = () => B.board.role === "owner" || B.board.role === "admin";

  frame.build(B);
  for (const m of [frame, note, actions, editor, gestures, keys, sync]) m.install(B);
  view.classList.add("view-board");
  view.append(B.root);

  B.load(B.board.items || []);
  const r = B.canvas.getBoundingClientRect();
  B.pan = initialPan(B.items, r.width, r.height);
  B.applyPan();
  B.renderFrame();
  B.setLive("connecting", "stream");
  B.renderPresence();
  B.subscribeLive();
  B.root.dataset.liveMode = liveMode();

  setCleanup(() => {
    B.gone = true;
    for (const id of [...B.keyMoves.keys()]) B.flushKeyMove(id);
    if (B.editing) {
      // Leaving the page saves what was typed (gone is set, so nothing is re-rendered).
      const { id, base, textarea } = B.editing;
      B.editing = null;
      if (textarea.value !== base.text) api.updateItem(B.board.id, id, { text: textarea.value }, base.version).catch((e) => toast(e.message, "error"));
    }
    if (B.unsubscribe) B.unsubscribe();
    document.title = "Teamboard";
  });
}
