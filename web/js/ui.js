// Small DOM helpers: element builder, toasts, confirm dialog, relative times, avatars.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
      else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "html") el.innerHTML = v;  // only for our own constant SVG icons
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Inline icons (24x24 stroke icons), so nothing is fetched from elsewhere.
const ICONS = {
  plus: '<path d="M12 5v14M5 12h14"/>',
  trash: '<path d="M4 7h16M10 11v6M14 11v6M6 7l1 12a2 2 0 0 0 2 2h6a2 2 0 0 0 2-2l1-12M9 7V4h6v3"/>',
  front: '<rect x="8" y="8" width="12" height="12" rx="2"/><path d="M4 16V6a2 2 0 0 1 2-2h10"/>',
  palette: '<circle cx="12" cy="12" r="9"/><circle cx="8" cy="10" r="1.2"/><circle cx="12" cy="7.5" r="1.2"/><circle cx="16" cy="10" r="1.2"/><path d="M12 21a3 3 0 0 1 0-6h1.5"/>',
  edit: '<path d="M4 20h4L19 9l-4-4L4 16v4zM14 6l4 4"/>',
  back: '<path d="M15 5l-7 7 7 7"/>',
  users: '<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20a6.5 6.5 0 0 1 13 0M16 4.5a3.5 3.5 0 0 1 0 7M18 14a6 6 0 0 1 3.5 6"/>',
  board: '<rect x="3" y="4" width="18" height="16" rx="2"/><path d="M7 8h4v4H7zM13 8h4v6h-4z"/>',
  signout: '<path d="M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 16l-4-4 4-4M6 12h10"/>',
  eye: '<path d="M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z"/><circle cx="12" cy="12" r="3"/>',
  check: '<path d="M5 12.5l4.5 4.5L19 7.5"/>',
  undo: '<path d="M9 14L4 9l5-5"/><path d="M4 9h10.5a5.5 5.5 0 0 1 0 11H11"/>',
  redo: '<path d="M15 14l5-5-5-5"/><path d="M20 9H9.5a5.5 5.5 0 0 0 0 11H13"/>',
  clock: '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
};

export function icon(name) {
  const span = document.createElement("span");
  span.className = "icon";
  span.setAttribute("aria-hidden", "true");
  span.innerHTML = `<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">${ICONS[name] || ""}</svg>`;
  return span;
}

// ---- toasts (role=status: screen readers announce them)
let toastBox = null;
export function toast(message, kind = "info", ms = 5000) {
  if (!toastBox) {
    toastBox = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(toastBox);
  }
  const t = h("div", { class: `toast toast-${kind}`, "data-testid": "toast" }, message);
  toastBox.append(t);
  setTimeout(() => {
    t.classList.add("toast-out");
    setTimeout(() => t.remove(), 300);
  }, ms);
  return t;
}

// ---- confirm dialog (native <dialog>: focus trap and Escape for free)
export function confirmDialog(text, { ok = "Delete", danger = true } = {}) {
  return new Promise((resolve) => {
    const dlg = h("dialog", { class: "dialog", "data-testid": "confirm" },
      h("p", null, text),
      h("div", { class: "dialog-actions" },
        h("button", { type: "button", class: "btn btn-ghost", value: "cancel", "data-testid": "confirm-cancel" }, "Cancel"),
        h("button", { type: "button", class: danger ? "btn btn-danger" : "btn btn-primary", value: "ok", "data-testid": "confirm-ok" }, ok)));
    dlg.addEventListener("click", (e) => {
      const b = e.target.closest("button");
      if (b) dlg.close(b.value);
    });
    dlg.addEventListener("close", () => {
      resolve(dlg.returnValue === "ok");
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
    dlg.querySelector(".btn-ghost").focus();
  });
}

// ---- words
export function timeAgo(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return "";
  const s = Math.max(0, (Date.now() - t) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 86400 * 30) return `${Math.floor(s / 86400)} d ago`;
  return new Date(t).toLocaleDateString();
}

// How a person is shown to others: their display name (the login name when the reply has none:
// an older server). personTitle adds the login name for a tooltip: "Mira Müller (@mira)".
export function shownName(p) {
  return (p && (p.display_name || p.name)) || "Someone";
}
export function personTitle(p) {
  const shown = shownName(p);
  return p && p.name && p.name !== shown ? `${shown} (@${p.name})` : shown;
}

// White initials on each of these reach a contrast of 4.5:1 at least (WCAG AA; axe-core checks it).
const AVATAR_COLORS = ["#3f51b5", "#00796b", "#b45309", "#8e24aa", "#2e7d32", "#c62828", "#00697a", "#6d4c41"];
export function avatar(name, extraClass = "") {
  let hsh = 0;
  for (const ch of name) hsh = (hsh * 31 + ch.codePointAt(0)) >>> 0;
  // Letters and digits of any script: "Zoë 山田" is "Z山".
  const words = name.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  let initials = [...(words[0] || "?")][0];
  if (words[1] && /^\p{L}/u.test(words[1])) initials += [...words[1]][0];
  initials = initials.toUpperCase();
  return h("span", {
    class: `avatar ${extraClass}`, title: name, style: { background: AVATAR_COLORS[hsh % AVATAR_COLORS.length] },
    "aria-hidden": "true",
  }, initials);
}

export const ROLE_WORDS = { owner: "Owner", admin: "Admin", editor: "Editor", viewer: "Viewer" };

export function field(label, input, hint) {
  const id = input.id || "f-" + Math.random().toString(36).slice(2, 8);
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("small", { class: "hint" }, hint) : null);
}

export function errorLine() {
  return h("p", { class: "form-error", role: "alert", "data-testid": "form-error", hidden: true });
}

export function showError(el, message) {
  el.textContent = message || "";
  el.hidden = !message;
}
