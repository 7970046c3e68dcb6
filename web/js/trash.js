// The trash in words, shared by the boards list, the board view and the Trash page: how long a
// deleted board stays restorable, from its purge_at in GET /trash (the server's trash_days; no
// number of days is assumed here), and the toast after a board was deleted.
import { api } from "./api.js";
import { toast } from "./ui.js";

const DAY_MS = 86400000;

// "for 30 days (until 1/3/2027)"; purgeAt null (trash_days = 0): kept until restored.
export function keptFor(purgeAt, now = Date.now()) {
  if (!purgeAt) return "with no time limit";
  const t = Date.parse(purgeAt);
  if (!Number.isFinite(t)) return "";
  const days = Math.round((t - now) / DAY_MS);
  const date = new Date(t).toLocaleDateString();
  if (days >= 1) return `for ${days} day${days === 1 ? "" : "s"} (until ${date})`;
  return `until ${new Date(t).toLocaleString()}`;
}

// After DELETE /boards/:id: says that the board is in the trash and for how long (GET /trash's
// purge_at; without it, just that it is in the trash).
export async function toastBoardDeleted(board) {
  let how = "";
  try {
    const t = await api.trash();
    const b = (t.boards || []).find((x) => x.id === board.id);
    if (b) how = ` ${keptFor(b.purge_at)}`;
  } catch (_) { /* the toast without the time */ }
  const t = toast(`Board “${board.title}” moved to the trash${how}. Restore it from Trash (on the boards page).`, "info", 8000);
  t.dataset.testid = "toast-board-deleted";
}

// The confirmation's words for deleting a board.
export function deleteBoardQuestion(title) {
  return `Delete the board “${title}” and its notes for everyone? It goes to the trash, from where its owner or a team admin can restore it.`;
}
