// A public read-only link in the browser (docs/api.md, "Public links"): alice shares her board from
// its Share dialog, a guest with no account opens the link, follows the board live (read-only, with
// a sign-in prompt), and is cut off at once when alice deletes the link in the dialog. axe finds
// nothing serious on the public page or in the dialog.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, withTracker, apiOk, userContext, openBoard, note, within, axeViolations, BASE } from "./lib.mjs";

const SECOND = 1000;
// axe-core is injected as a script tag, which the site's CSP refuses (as a11y.test.mjs does).
const AXE_OK = { bypassCSP: true };

describe("public links: a guest follows a board live and is cut off when the link is deleted", () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  test("alice shares, the guest watches live, alice deletes the link and the guest is told at once", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const alice = await userContext(tr, browser, "alice", AXE_OK);
      const board = await apiOk(alice.ctx, "POST", "/boards", { title: "Open retro" });
      const first = await apiOk(alice.ctx, "POST", `/boards/${board.id}/items`, { text: "Before the guest", x: 40, y: 40 });
      const pa = await openBoard(alice.ctx, board.id);
      await pa.getByTestId("board-share").click();
      await pa.getByTestId("share-none").waitFor();
      await pa.getByTestId("share-create").click();
      const url = await pa.getByTestId("share-url").inputValue();
      assert.match(url, /\/#\/public\/[0-9a-f]{64}$/);
      await pa.getByTestId("share-link").waitFor();

      // The guest: a browser with no account.
      const gctx = await tr.newContext(browser, AXE_OK);
      const pg = await gctx.newPage();
      await pg.goto(`${BASE}#/public/${url.split("/").pop()}`);
      await pg.getByTestId("public-board").waitFor({ timeout: 15 * SECOND });
      assert.equal(await pg.getByTestId("board-title").textContent(), "Open retro");
      assert.equal(await note(pg, first.id).getByTestId("note-text").textContent(), "Before the guest");
      await pg.getByTestId("public-signin").waitFor();
      await within(pg, 5 * SECOND, () => /1 guest/.test(document.querySelector('[data-testid="public-presence"]').textContent), null, "counted as a guest");
      assert.equal(await pg.locator("[data-testid=new-note], [data-testid=note-toolbar]").count(), 0, "nothing to write with");
      assert.deepEqual(await axeViolations(pg), [], "the public page: no serious or critical axe finding");
      assert.deepEqual(await axeViolations(pa), [], "the Share dialog: no serious or critical axe finding");

      // alice writes: the guest sees it live.
      const live = await apiOk(alice.ctx, "POST", `/boards/${board.id}/items`, { text: "Live for the guest", x: 300, y: 40 });
      await note(pg, live.id).waitFor({ timeout: 5 * SECOND });
      assert.equal(await note(pg, live.id).getByTestId("note-text").textContent(), "Live for the guest");

      // alice deletes the link in the dialog: the guest is told at once, and nothing more arrives.
      await pa.getByTestId("share-delete").click();
      await pg.getByTestId("public-status").waitFor({ timeout: 5 * SECOND });
      assert.match(await pg.getByTestId("public-status").textContent(), /no longer works/);
      const after = await apiOk(alice.ctx, "POST", `/boards/${board.id}/items`, { text: "Not for the guest", x: 40, y: 300 });
      await note(pa, after.id).waitFor({ timeout: 5 * SECOND });
      assert.equal(await note(pg, after.id).count(), 0, "the guest was cut off");
      await pa.getByTestId("share-none").waitFor({ timeout: 5 * SECOND });
    });
  });
});
