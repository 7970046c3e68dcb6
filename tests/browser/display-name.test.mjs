// Display names (issue 15 item 3): a user sets one on the account page (trimmed, any script) and
// sees it in the header; a second user on the same board sees it live in the presence list and
// as the author of the first user's note, with the login name in the tooltip.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, withTracker, teamBoard, shot, apiOk, openBoard, note, within, BASE } from "./lib.mjs";

const SECOND = 1000;
const SHOWN = "Zoë 山田";

describe("display names", () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  test("set on the account page, seen live by the other person on the board: presence and note author", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const { alice, bob, team, board, items: [mine] } = await teamBoard(tr, browser, {
        title: "Names", notes: [{ text: "by alice", x: 80, y: 80 }],
      });

      // bob watches the board; alice is there too (a second page of hers), then renames herself
      const pb = await openBoard(bob.ctx, board.id);
      const pa = await openBoard(alice.ctx, board.id);
      const viewer = pb.locator(`[data-testid="viewer"][data-name="${alice.name}"]`);
      await viewer.waitFor({ timeout: 5 * SECOND });
      assert.equal(await note(pb, mine.id).getAttribute("data-author"), alice.name, "before: the login name");

      const acct = await alice.ctx.newPage();
      await acct.goto(`${BASE}#/account`);
      await acct.getByTestId("dn-form").waitFor();
      // a name of white space only is refused before any request
      await acct.getByTestId("dn-input").fill("   ");
      await acct.getByTestId("dn-submit").click();
      await acct.getByTestId("dn-form").getByTestId("form-error").filter({ hasText: "Please enter a name." }).waitFor();
      await acct.getByTestId("dn-input").fill(`  ${SHOWN}  `);
      await acct.getByTestId("dn-submit").click();
      await acct.getByTestId("dn-ok").filter({ hasText: SHOWN }).waitFor({ timeout: 5 * SECOND });
      assert.equal(await acct.getByTestId("dn-input").inputValue(), SHOWN, "trimmed by the server");
      assert.equal(await acct.getByTestId("me").textContent(), SHOWN, "the header shows it at once");

      // bob's board: presence changes live (no reload), and so does the author of her note
      await within(pb, 3 * SECOND, (n) => document.querySelector(`[data-testid="viewer"][data-name="${n}"]`)?.dataset.displayName === "Zoë 山田",
        alice.name, "bob's presence list shows the display name");
      assert.match(await viewer.getAttribute("title"), new RegExp(`^${SHOWN} \\(@${alice.name}\\)$`));
      await within(pb, 3 * SECOND, (id) => document.querySelector(`[data-testid="note"][data-id="${id}"]`)?.dataset.author === "Zoë 山田",
        mine.id, "bob sees the note's author by display name");
      assert.equal(await note(pb, mine.id).getAttribute("title"), `By ${SHOWN} (@${alice.name})`);

      // a note alice adds now shows her display name to bob as its author
      const fresh = await apiOk(alice.ctx, "POST", `/boards/${board.id}/items`, { text: "new one", x: 320, y: 80 });
      await within(pb, 3 * SECOND, (id) => document.querySelector(`[data-testid="note"][data-id="${id}"]`)?.dataset.author === "Zoë 山田",
        fresh.id, "the new note's author");
      await shot(pb, "display-name-board");
      await pa.close();

      // the team page lists her by display name, the login name beside it
      const pt = await bob.ctx.newPage();
      await pt.goto(`${BASE}#/teams/${team.id}`);
      const row = pt.locator(`[data-testid="member"][data-name="${alice.name}"]`);
      await row.waitFor();
      assert.equal(await row.getAttribute("data-display-name"), SHOWN);
      assert.match(await row.textContent(), new RegExp(`${SHOWN} @${alice.name}`));
    });
  });
});
