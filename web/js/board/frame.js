// The board's frame: the bar (back link, title, role, live status, people viewing, rename,
// share, delete, new note), the read-only banner, the canvas and its hint. build(B) makes the elements
// and puts them on B (root, canvas, world, ...); install(B) adds renderFrame, setLive,
// liveLogPush, renderPresence, startRename and deleteBoard.
import { api } from "../api.js";
import { h, clear, icon, toast, confirmDialog, avatar, shownName, personTitle, errorLine, showError, ROLE_WORDS } from "../ui.js";
import { toastBoardDeleted, deleteBoardQuestion } from "../trash.js";

const LIVE_WORDS = {
  connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Offline",
};

export function build(B) {
  B.titleEl = h("h1", { class: "board-title", "data-testid": "board-title", tabindex: "-1" }, B.board.title);
  B.roleChip = h("span", { class: "chip chip-role" });
  B.liveEl = h("span", { class: "live", "data-testid": "live-status", role: "status", "aria-live": "polite" },
    h("span", { class: "live-dot", "aria-hidden": "true" }), h("span", { class: "live-text" }, LIVE_WORDS.connecting));
  B.presenceEl = h("ul", { class: "presence", "data-testid": "presence", "aria-label": "People viewing this board" });
  B.newBtn = h("button", { type: "button", class: "btn btn-primary btn-sm", "data-testid": "new-note", onclick: () => B.createNoteAtCenter() },
    icon("plus"), h("span", null, "New note"));
  B.renameBtn = h("button", { type: "button", class: "btn btn-ghost btn-sm", "data-testid": "board-rename", "aria-label": "Rename board", onclick: () => B.startRename() },
    icon("edit"), h("span", { class: "hide-narrow" }, "Rename"));
  B.deleteBtn = h("button", { type: "button", class: "btn btn-ghost btn-sm btn-danger-text", "data-testid": "board-delete", "aria-label": "Delete board", onclick: () => B.deleteBoard() },
    icon("trash"), h("span", { class: "hide-narrow" }, "Delete"));
  B.shareBtn = h("button", { type: "button", class: "btn btn-ghost btn-sm", "data-testid": "board-share", "aria-label": "Share board", onclick: () => B.openShare() },
    icon("users"), h("span", { class: "hide-narrow" }, "Share"));
  B.readonlyBanner = h("div", { class: "readonly-banner", "data-testid": "readonly-banner", role: "note" },
    icon("eye"), "View only: you are a viewer on this board, so you can read the notes but not change them.");
  B.titleWrap = h("div", { class: "board-title-wrap" }, B.titleEl, B.roleChip);
  B.bar = h("div", { class: "board-bar" },
    h("a", { href: "#/boards", class: "back-link", "aria-label": "All boards" }, icon("back"), h("span", { class: "hide-narrow" }, "Boards")),
    B.titleWrap,
    h("div", { class: "board-bar-right" }, B.liveEl, B.presenceEl, B.renameBtn, B.shareBtn, B.deleteBtn,
      h("button", { type: "button", class: "btn btn-ghost btn-sm btn-icon", "data-testid": "shortcuts-open", "aria-label": "Keyboard shortcuts", title: "Keyboard shortcuts (?)", onclick: () => B.showShortcuts() }, "?"),
      B.newBtn));
  B.world = h("div", { class: "world" });
  B.canvas = h("div", {
    class: "canvas", tabindex: "0", "data-testid": "canvas", role: "region",
    "aria-label": "Board canvas. Double-click or press N to add a note; arrow keys pan; press ? for all shortcuts.",
  }, B.world);
  B.hint = h("div", { class: "board-hint", "aria-hidden": "true" },
    h("span", { class: "hint-mouse" }, "Double-click to add a note · drag to move · Ctrl+wheel zoom · ? shortcuts"),
    h("span", { class: "hint-touch" }, "Double-tap to add a note · drag to move · pinch to zoom · two fingers pan"));
  B.awayEl = h("div", { class: "away-summary", "data-testid": "away-summary", role: "status", hidden: true },
    h("span", { class: "away-text" }),
    h("button", { type: "button", class: "btn btn-ghost btn-xs", "aria-label": "Dismiss", onclick: () => { B.awayEl.hidden = true; } }, "OK"));
  B.root = h("section", { class: "board-view", "data-board-id": B.board.id }, B.bar, B.readonlyBanner, B.awayEl, B.canvas, B.hint);
}

export function install(B) {
  Object.assign(B, { renderFrame, setLive, liveLogPush, renderPresence, startRename, deleteBoard });

  function renderFrame() {
    const { board } = B;
    B.titleEl.textContent = board.title;
    document.title = `${board.title} · Teamboard`;
    B.roleChip.textContent = ROLE_WORDS[board.role] || board.role;
    B.roleChip.className = `chip chip-role role-${board.role}`;
    B.root.classList.toggle("readonly", !B.canEdit());
    B.readonlyBanner.hidden = B.canEdit();
    B.newBtn.hidden = !B.canEdit();
    B.renameBtn.hidden = !B.canEdit();
    B.deleteBtn.hidden = !B.canDeleteBoard();
    B.shareBtn.hidden = !B.canDeleteBoard(); // the owner and the team's admins share
    for (const id of B.els.keys()) B.renderNote(id);
  }

  function setLive(state, mode) {
    const el = B.liveEl;
    el.dataset.state = state;
    el.dataset.mode = mode || "stream";
    let text = LIVE_WORDS[state] || state;
    if (state === "live" && mode === "poll") text = "Live (polling)";
    el.querySelector(".live-text").textContent = text;
    el.title = state === "live" && mode === "poll"
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
    const el = B.presenceEl;
    clear(el);
    const seen = new Set();
    const list = B.viewers.filter((v) => !seen.has(v.user_id) && seen.add(v.user_id));
    for (const v of list.slice(0, 6)) {
      const title = v.user_id === B.me.id ? `${personTitle(v)} (you)` : personTitle(v);
      el.append(h("li", { "data-testid": "viewer", "data-name": v.name, "data-display-name": shownName(v), title },
        avatar(shownName(v)), h("span", { class: "sr-only" }, shownName(v))));
    }
    if (list.length > 6) el.append(h("li", { class: "presence-more", title: list.slice(6).map(personTitle).join(", ") }, `+${list.length - 6}`));
    el.setAttribute("aria-label", list.length ? `Viewing now: ${list.map(shownName).join(", ")}` : "Nobody else is viewing");
  }

  function startRename() {
    const input = h("input", { value: B.board.title, maxlength: 200, "aria-label": "Board title", "data-testid": "board-rename-input", class: "title-input" });
    const err = errorLine();
    const form = h("form", { class: "rename-form" }, input,
      h("button", { type: "submit", class: "btn btn-primary btn-sm", "data-testid": "board-rename-save" }, "Save"),
      h("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: () => done() }, "Cancel"), err);
    const done = () => { form.remove(); B.titleWrap.hidden = false; B.renameBtn.focus(); };
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const t = input.value.trim();
      if (!t) return showError(err, "Please give the board a title.");
      try {
        B.board = { ...B.board, ...(await api.renameBoard(B.board.id, t, B.board.version)) };
        renderFrame();
        done();
      } catch (ex) {
        if (ex.code === "version_mismatch" && ex.current) {
          B.board = { ...B.board, ...ex.current, role: B.board.role };
          renderFrame();
          showError(err, `Someone renamed it to “${ex.current.title}” meanwhile. Save again to use your title.`);
        } else showError(err, ex.message);
      }
    });
    input.addEventListener("keydown", (e) => { if (e.key === "Escape") done(); });
    B.titleWrap.hidden = true;
    B.titleWrap.after(form);
    input.focus();
    input.select();
  }

  async function deleteBoard() {
    const { board } = B;
    if (!(await confirmDialog(deleteBoardQuestion(board.title)))) return;
    try {
      await api.deleteBoard(board.id, board.version);
      B.gone = true;
      B.go("#/boards");
      toastBoardDeleted(board);
    } catch (e) {
      toast(e.code === "version_mismatch" ? "Someone changed this board just now; please try again." : e.message, "error");
      if (e.current) { B.board = { ...B.board, ...e.current, role: B.board.role }; renderFrame(); }
    }
  }
}
