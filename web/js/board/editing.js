// "Being edited by X": while this user's editor is open the board announces it
// (POST /boards/:id/items/:item/editing at once and every 10 s, DELETE when it closes; see
// docs/api.md), and the stream's `editing` / `editing.end` control messages from others put a
// badge on the note with their names. A badge goes after the announcement's ttl without a
// repeat, on editing.end, and when that person leaves the board's presence list. install(B)
// adds announce, unannounce, onEditing and editorsLeft to the board context B.
import { request } from "../api.js";
import { h, shownName } from "../ui.js";

const REPEAT_MS = 10000;

export function install(B) {
  Object.assign(B, { announce, unannounce, onEditing, editorsLeft, renderEditors });
  const others = new Map();  // item id -> Map(user id -> {name, timer})
  let mine = null;           // {id, timer}

  const path = (id) => `/boards/${B.board.id}/items/${id}/editing`;
  const quiet = () => {};    // best effort: a lost announcement only delays a badge

  function announce(id) {
    if (mine && mine.id === id) return;
    unannounce();
    const m = { id, timer: null, last: Promise.resolve() };
    mine = m;
    if (typeof id !== "number") return;  // a temporary note: announced once it has its id
    const send = () => { m.last = request("POST", path(id)).catch(quiet); };
    send();
    m.timer = setInterval(send, REPEAT_MS);
  }

  // The end goes out after the last announcement was answered (else the server could see the
  // end first, and the start after it would stay).
  function unannounce() {
    if (!mine) return;
    const m = mine;
    mine = null;
    clearInterval(m.timer);
    if (typeof m.id === "number") m.last.then(() => request("DELETE", path(m.id)).catch(quiet));
  }

  function onEditing(type, d) {
    if (!d || d.user_id === B.me.id) return;  // our own announcements come back too
    const id = Number(d.item_id);
    const uid = Number(d.user_id);
    if (type === "editing.end") { drop(id, uid); return; }
    let m = others.get(id);
    if (!m) others.set(id, (m = new Map()));
    const old = m.get(uid);
    if (old) clearTimeout(old.timer);
    const ttl = Math.min(Math.max(Number(d.ttl) || 30, 1), 300);
    m.set(uid, { name: String(d.name || ""), shown: shownName(d), timer: setTimeout(() => drop(id, uid), ttl * 1000) });
    renderEditors(id);
  }

  function drop(id, uid) {
    const m = others.get(id);
    if (!m || !m.has(uid)) return;
    clearTimeout(m.get(uid).timer);
    m.delete(uid);
    if (!m.size) others.delete(id);
    renderEditors(id);
  }

  // The presence list changed: badges of people no longer on the board go.
  function editorsLeft(viewers) {
    const here = new Set((viewers || []).map((v) => Number(v.user_id)));
    for (const [id, m] of [...others]) for (const uid of [...m.keys()]) if (!here.has(uid)) drop(id, uid);
  }

  function renderEditors(id) {
    const el = B.els.get(id);
    if (!el) return;
    const m = others.get(id);
    const names = m ? [...m.values()].map((e) => e.shown) : [];
    if (!names.length) {
      if (el._editors) { el._editors.remove(); el._editors = null; }
      delete el.dataset.editedBy;
      return;
    }
    if (!el._editors) {
      el._editors = h("span", { class: "note-editors", "data-testid": "editing-badge" });
      el.append(el._editors);
    }
    const text = `${names.join(", ")} ${names.length === 1 ? "is" : "are"} editing`;
    el._editors.textContent = `✎ ${text}`;
    el._editors.title = text;
    el.dataset.editedBy = [...m.values()].map((e) => e.name).join(",");
  }
}
