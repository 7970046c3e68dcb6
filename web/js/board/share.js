// The board's "Share" dialog (its owner and the team's admins): public read-only links
// (docs/api.md, "Public links"). Making a link shows its address once, with a copy button (the
// server keeps only a hash of the token: a link cannot be shown again); the list shows the links
// by when they were made and how many guests follow each now, each with Delete, which cuts its
// guests off at once. install(B) adds openShare to the board context B.
import { api } from "../api.js";
import { h, toast, timeAgo, errorLine, showError } from "../ui.js";

export function install(B) {
  Object.assign(B, { openShare });

  function openShare() {
    const back = document.activeElement;
    const err = errorLine();
    const made = h("div", { class: "share-made", "data-testid": "share-made", hidden: true });
    const list = h("ul", { class: "share-links", "data-testid": "share-links", "aria-label": "Public links" });
    const create = h("button", { type: "button", class: "btn btn-primary btn-sm", "data-testid": "share-create", onclick: makeLink }, "Create a public link");
    const close = h("button", { type: "button", class: "btn btn-ghost", "data-testid": "share-close", onclick: () => dlg.close() }, "Close");
    const dlg = h("dialog", { class: "dialog dialog-wide", "data-testid": "share-dialog", "aria-labelledby": "share-title" },
      h("h2", { id: "share-title" }, "Share this board"),
      h("p", { class: "muted" }, "Anyone with a public link can watch this board live, read-only, without an account. Delete a link to cut its viewers off at once."),
      create, made, err, list,
      h("div", { class: "dialog-actions" }, close));
    dlg.addEventListener("close", () => { dlg.remove(); if (back && back.isConnected) back.focus(); });
    document.body.append(dlg);
    dlg.showModal();
    create.focus();
    refresh();

    async function refresh() {
      try {
        const { links } = await api.links(B.board.id);
        list.replaceChildren(...links.map(linkRow));
        if (!links.length) list.append(h("li", { class: "muted", "data-testid": "share-none" }, "No public links yet."));
      } catch (e) {
        showError(err, e.message);
      }
    }

    function linkRow(link) {
      const del = h("button", { type: "button", class: "btn btn-ghost btn-sm btn-danger-text", "data-testid": "share-delete",
        "aria-label": `Delete the link made ${timeAgo(link.created_at)}`, onclick: () => deleteLink(link, del) }, "Delete");
      const guests = link.guests === 1 ? "1 viewer now" : `${link.guests} viewers now`;
      return h("li", { class: "share-link", "data-testid": "share-link", "data-id": link.id },
        h("span", null, `Link made ${timeAgo(link.created_at)} · ${guests}`), del);
    }

    async function makeLink() {
      showError(err, "");
      create.disabled = true;
      try {
        const link = await api.createLink(B.board.id);
        const url = h("input", { class: "input", type: "text", readonly: true, value: link.url, "data-testid": "share-url", "aria-label": "Public link" });
        const copy = h("button", { type: "button", class: "btn btn-ghost btn-sm", "data-testid": "share-copy", onclick: () => copyUrl(url) }, "Copy");
        made.replaceChildren(h("p", null, "The new link (shown only now: copy it):"), h("div", { class: "share-url" }, url, copy));
        made.hidden = false;
        url.select();
        await refresh();
      } catch (e) {
        showError(err, e.message);
      } finally {
        create.disabled = false;
      }
    }

    async function copyUrl(input) {
      input.select();
      try {
        await navigator.clipboard.writeText(input.value);
        toast("Link copied.", "info");
      } catch (_) {
        toast("Copy the selected link with Ctrl+C.", "info");
      }
    }

    async function deleteLink(link, btn) {
      btn.disabled = true;
      try {
        await api.deleteLink(B.board.id, link.id);
        toast("Link deleted: its viewers are cut off.", "info");
      } catch (e) {
        if (e.status !== 404) showError(err, e.message);
      }
      await refresh();
    }
  }
}
