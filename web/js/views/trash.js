// The Trash page (#/trash): the deleted boards the user may restore (GET /trash: their owner, the
// admins of their team), the most recently deleted first, each with who deleted it, when it will be
// purged and a Restore button (POST /boards/:id/restore), after which it is back in the boards
// list. Imports nothing from app.js (no cycle): the shell passes what it needs in ctx.
import { api } from "../api.js";
import { h, clear, icon, toast, timeAgo, shownName, ROLE_WORDS } from "../ui.js";
import { keptFor } from "../trash.js";

export async function renderTrash({ view }) {
  const data = await api.trash();
  const status = h("p", { class: "sr-only", role: "status", "data-testid": "trash-status" });
  const list = h("ul", { class: "trash-list", "data-testid": "trash-boards" });
  view.append(h("div", { class: "page-head" },
    h("h1", null, "Trash"),
    h("p", { class: "muted" }, "Deleted boards you can restore. Each is purged for good when its time is up."),
    h("a", { href: "#/boards", class: "btn btn-ghost btn-sm page-head-link" }, icon("back"), "Boards")), status);
  const boards = data.boards || [];
  if (!boards.length) {
    view.append(emptyTrash());
    return;
  }
  for (const b of boards) list.append(trashedBoard(b, list, status, view));
  view.append(list);
}

function emptyTrash() {
  return h("div", { class: "empty card", "data-testid": "trash-empty" },
    h("h2", null, "The trash is empty"),
    h("p", { class: "muted" }, "Boards you delete (and your teams' boards, for their admins) can be restored from here."));
}

function trashedBoard(b, list, status, view) {
  const who = b.deleted_by ? shownName(b.deleted_by) : "a deleted user";
  const btn = h("button", { type: "button", class: "btn btn-primary btn-sm", "data-testid": "trash-restore", "aria-label": `Restore ${b.title}` },
    icon("back"), "Restore");
  const li = h("li", { class: "trash-row card", "data-testid": "trash-board", "data-board-id": b.id },
    h("div", { class: "trash-body" },
      h("strong", { class: "trash-title" }, b.title),
      h("div", { class: "trash-meta muted" },
        h("span", { class: `chip chip-role role-${b.role}` }, ROLE_WORDS[b.role] || b.role),
        ` Deleted by ${who} ${timeAgo(b.deleted_at)}; kept ${keptFor(b.purge_at)}.`)),
    btn);
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    try {
      const nb = await api.restoreBoard(b.id);
      li.remove();
      status.textContent = `Board “${nb.title}” restored.`;
      toast(`Board “${nb.title}” is back in your boards.`);
      if (!list.children.length) { list.remove(); view.append(emptyTrash()); }
      const h1 = view.querySelector("h1");
      if (h1) { h1.setAttribute("tabindex", "-1"); h1.focus({ preventScroll: true }); }
    } catch (e) {
      toast(e.message, "error");
      if (e.status === 409 || e.status === 410 || e.status === 404) li.remove();
      else btn.disabled = false;
    }
  });
  return li;
}
