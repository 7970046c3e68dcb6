// The boards list: own and teams' boards; create (personal or for a team), rename, delete.
// The list stays current by itself (keepFresh): re-read every REFRESH_MS while the page is
// visible and at once when it gets focus, with If-None-Match (a 304 costs the server little).
import { api, getCached } from "../api.js";
import { h, clear, icon, field, errorLine, showError, toast, confirmDialog, timeAgo, ROLE_WORDS } from "../ui.js";
import { go } from "../shell.js";
import { toastBoardDeleted, deleteBoardQuestion } from "../trash.js";
import { exportMenu, importButton } from "./export.js";

const REFRESH_MS = 15000;
// localStorage "teamboard.refreshMs" overrides the period (the tests shorten it).
function refreshMs() {
  try { return Number(localStorage.getItem("teamboard.refreshMs")) || REFRESH_MS; } catch (_) { return REFRESH_MS; }
}

// Is the person in the middle of something on this view that a redraw would disturb?
export function busyIn(view) {
  if (document.querySelector("dialog[open]")) return true;
  if (view.querySelector(".rename-form")) return true;
  const a = document.activeElement;
  return Boolean(a && view.contains(a) && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName) && a.value && a.type !== "submit");
}

// Redraws with draw() keeping focus on the "same" element (by data-testid and the closest
// data-board-id / data-name) when it is still there.
export function redrawKeepingFocus(view, draw) {
  const a = document.activeElement;
  let sel = null;
  if (a && view.contains(a) && a.tagName === "H1") sel = "h1";
  else if (a && view.contains(a) && a.dataset && a.dataset.testid) {
    const holder = a.closest("[data-board-id],[data-name]");
    sel = `[data-testid="${a.dataset.testid}"]`;
    if (holder && holder !== a) {
      const attr = holder.dataset.boardId !== undefined ? `data-board-id="${CSS.escape(holder.dataset.boardId)}"` : `data-name="${CSS.escape(holder.dataset.name)}"`;
      sel = `[${attr}] ${sel}`;
    }
  }
  draw();
  const again = sel && view.querySelector(sel);
  if (again && sel === "h1") again.setAttribute("tabindex", "-1");
  if (again) again.focus({ preventScroll: true });
}

// Calls read() -> {changed, data} every refreshMs() while the page is visible and at once on
// focus / visibilitychange; onChange(data) when changed, onError(e) on an API refusal. Stops
// with the view (setCleanup). A network failure just waits for the next round.
export function keepFresh(setCleanup, read, onChange, onError) {
  let timer = null;
  let stopped = false;
  let busy = false;
  async function tick() {
    clearTimeout(timer);
    timer = null;
    if (stopped) return;
    if (document.visibilityState === "visible" && !busy) {
      busy = true;
      try {
        const r = await read();
        if (!stopped && r.changed) onChange(r.data);
      } catch (e) {
        if (!stopped && e && e.status && e.status !== 401 && onError) onError(e);
      } finally {
        busy = false;
      }
    }
    if (!stopped && !timer) timer = setTimeout(tick, refreshMs());
  }
  const now = () => { if (document.visibilityState === "visible") tick(); };
  window.addEventListener("focus", now);
  document.addEventListener("visibilitychange", now);
  timer = setTimeout(tick, refreshMs());
  setCleanup(() => {
    stopped = true;
    clearTimeout(timer);
    window.removeEventListener("focus", now);
    document.removeEventListener("visibilitychange", now);
  });
}

// Several cached GETs at once: {changed: any changed, data: [their data]}.
export async function readAll(paths) {
  const rs = await Promise.all(paths.map((p) => getCached(p)));
  return { changed: rs.some((r) => r.changed), data: rs.map((r) => r.data) };
}

const canRename = (b) => b.role !== "viewer";
const canDelete = (b) => b.role === "owner" || b.role === "admin";

// A form to create a board; teamId fixes the team (team page), else a select offers them.
export function createBoardForm(teams, { teamId = null } = {}) {
  const title = h("input", { name: "title", required: true, maxlength: 200, placeholder: "e.g. Sprint retro", "data-testid": "new-board-title" });
  const writable = teams.filter((t) => t.role !== "viewer");
  let select = null;
  if (teamId === null && writable.length) {
    select = h("select", { name: "team", "data-testid": "new-board-team" },
      h("option", { value: "" }, "Personal (only you)"),
      writable.map((t) => h("option", { value: t.id }, `Team: ${t.name}`)));
  }
  const err = errorLine();
  const btn = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "new-board-submit" }, icon("plus"), "Create board");
  const form = h("form", { class: "inline-form card" },
    h("div", { class: "inline-fields" },
      field("New board", title),
      select ? field("For", select) : null,
      h("div", { class: "field field-button" }, btn)),
    err);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showError(err, "");
    const t = title.value.trim();
    if (!t) return showError(err, "Please give the board a title."), title.focus();
    btn.disabled = true;
    try {
      const team = teamId !== null ? teamId : (select && select.value ? Number(select.value) : null);
      const b = await api.createBoard(t, team);
      go(`#/boards/${b.id}`);
    } catch (ex) {
      showError(err, ex.message);
      btn.disabled = false;
    }
  });
  return form;
}

export function boardCard(b, teamName, onChange) {
  const titleLink = h("a", { href: `#/boards/${b.id}`, class: "board-card-title", "data-testid": "board-link" }, b.title);
  const actions = h("div", { class: "board-card-actions" });
  const card = h("li", { class: "board-card", "data-testid": "board-card", "data-board-id": b.id },
    h("div", { class: "board-card-preview", "aria-hidden": "true" }, h("i"), h("i"), h("i")),
    h("div", { class: "board-card-body" },
      titleLink,
      h("div", { class: "board-card-meta" },
        h("span", { class: "chip" }, teamName ? `Team ${teamName}` : "Personal"),
        h("span", { class: `chip chip-role role-${b.role}` }, ROLE_WORDS[b.role] || b.role),
        h("span", { class: "muted" }, `Updated ${timeAgo(b.updated_at)}`))),
    actions);

  actions.append(exportMenu(b));
  if (canRename(b)) {
    actions.append(h("button", {
      type: "button", class: "btn btn-ghost btn-sm", "data-testid": "board-rename", "aria-label": `Rename ${b.title}`,
      onclick: () => startRename(),
    }, icon("edit"), h("span", { class: "hide-narrow" }, "Rename")));
  }
  if (canDelete(b)) {
    actions.append(h("button", {
      type: "button", class: "btn btn-ghost btn-sm btn-danger-text", "data-testid": "board-delete", "aria-label": `Delete ${b.title}`,
      onclick: async () => {
        if (!(await confirmDialog(deleteBoardQuestion(b.title)))) return;
        try {
          await api.deleteBoard(b.id, b.version);
          onChange();
          toastBoardDeleted(b);
        } catch (ex) {
          toast(ex.code === "version_mismatch" ? "Someone changed this board just now; look again, then delete." : ex.message, "error");
          onChange();
        }
      },
    }, icon("trash"), h("span", { class: "hide-narrow" }, "Delete")));
  }

  function startRename() {
    const input = h("input", { value: b.title, maxlength: 200, "aria-label": "Board title", "data-testid": "board-rename-input" });
    const err = errorLine();
    const form = h("form", { class: "rename-form" }, input,
      h("button", { type: "submit", class: "btn btn-primary btn-sm", "data-testid": "board-rename-save" }, "Save"),
      h("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: () => form.replaceWith(titleLink) }, "Cancel"), err);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const t = input.value.trim();
      if (!t) return showError(err, "Please give the board a title.");
      try {
        const nb = await api.renameBoard(b.id, t, b.version);
        Object.assign(b, nb);
        titleLink.textContent = nb.title;
        form.replaceWith(titleLink);
      } catch (ex) {
        if (ex.code === "version_mismatch" && ex.current) {
          Object.assign(b, ex.current);
          showError(err, `Someone renamed it to “${ex.current.title}” meanwhile. Save again to use your title.`);
        } else showError(err, ex.message);
      }
    });
    input.addEventListener("keydown", (e) => { if (e.key === "Escape") form.replaceWith(titleLink); });
    titleLink.replaceWith(form);
    input.focus();
    input.select();
  }
  return card;
}

export async function renderBoards({ view, setCleanup }) {
  const first = await readAll(["/boards", "/teams"]);
  let pending = null;  // data that came while the person was busy
  const draw = ([bl, tl]) => redrawKeepingFocus(view, () => {
    const typed = view.querySelector('[data-testid="new-board-title"]')?.value || "";
    clear(view);
    drawBoards(view, bl, tl);
    if (typed) view.querySelector('[data-testid="new-board-title"]').value = typed;
  });
  draw(first.data);
  keepFresh(setCleanup, async () => {
    const r = await readAll(["/boards", "/teams"]);
    if (pending && !r.changed) return { changed: true, data: r.data };
    return r;
  }, (data) => {
    if (busyIn(view)) pending = data;
    else { pending = null; draw(data); }
  });
}

function drawBoards(view, bl, tl) {
  const teams = tl.teams || [];
  const teamNames = new Map(teams.map((t) => [t.id, t.name]));
  const boards = bl.boards || [];
  const reload = () => go("#/boards");

  view.append(h("div", { class: "page-head" },
    h("h1", null, "Boards"),
    h("p", { class: "muted" }, "Your own boards and your teams' boards."),
    h("a", { href: "#/trash", class: "btn btn-ghost btn-sm page-head-link", "data-testid": "trash-link" }, icon("trash"), "Trash"),
    importButton()));
  view.append(createBoardForm(teams));

  const groups = new Map([[null, []]]);
  for (const t of teams) groups.set(t.id, []);
  for (const b of boards) {
    const k = b.team_id === null ? null : b.team_id;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(b);
  }
  if (!boards.length) {
    view.append(h("div", { class: "empty card", "data-testid": "boards-empty" },
      h("div", { class: "empty-art", "aria-hidden": "true" }, h("i"), h("i")),
      h("h2", null, "No boards yet"),
      h("p", { class: "muted" }, "Create your first board above: then double-click anywhere on it to add a note.")));
    return;
  }
  for (const [teamId, list] of groups) {
    if (!list.length) continue;
    const name = teamId === null ? null : (teamNames.get(teamId) || `#${teamId}`);
    list.sort((a, b) => Date.parse(b.updated_at) - Date.parse(a.updated_at));
    view.append(h("section", { class: "board-group" },
      h("h2", null, name === null ? "Personal" : [h("a", { href: `#/teams/${teamId}` }, name)]),
      h("ul", { class: "board-grid", "data-testid": "board-list" }, list.map((b) => boardCard(b, name, reload)))));
  }
}
