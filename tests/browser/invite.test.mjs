// Invite links (docs/api.md, "Invite links"; web/js/views/invite.js): a team admin makes a link in
// the team's page ("Invite people": role, expiry, uses) and copies it; a signed-out visitor in
// another browser opens it, sees the team and the role, signs up, joins without another click and
// lands on the team, whose board opens live; the admin's list counts the use, and a revoked link's
// page says it is gone.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, withTracker, apiOk, userContext, uniqueName, shot, PASSWORD, BASE } from "./lib.mjs";

describe("invite links", () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  test("an admin makes a link; a signed-out visitor opens it, signs up, joins and sees the team's board", async (t) => {
    await withTracker(t, browser, async (tr) => {
      tr.allow(/status of 410/); // the revoked link's GET /invites/:token
      const admin = await userContext(tr, browser, "admin", { permissions: ["clipboard-read", "clipboard-write"] });
      const team = await apiOk(admin.ctx, "POST", "/teams", { name: "Design crew" });
      const board = await apiOk(admin.ctx, "POST", "/boards", { title: "Roadmap", team_id: team.id });
      const page = await admin.ctx.newPage();
      await page.goto(`${BASE}#/teams/${team.id}`);
      await page.getByTestId("invite-none").waitFor();
      await page.getByTestId("invite-role").selectOption("editor");
      await page.getByTestId("invite-expiry").selectOption("24");
      await page.getByTestId("invite-uses").fill("2");
      await page.getByTestId("invite-create").click();
      const url = await page.getByTestId("invite-url").inputValue();
      assert.ok(url.startsWith(BASE) && /#\/invite\/[0-9a-f]{64}$/.test(url), url);
      await page.getByTestId("invite-row").filter({ hasText: "Editor · 0 of 2 used" }).waitFor();
      await page.getByTestId("invite-copy").click();
      await page.getByTestId("toast").filter({ hasText: "Link copied." }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);
      await shot(page, "invite-team-page");

      // A second browser, never signed in.
      const visitor = await tr.newContext(browser);
      const vp = await visitor.newPage();
      await vp.goto(url);
      await vp.getByTestId("invite-team").filter({ hasText: "Join “Design crew”" }).waitFor();
      assert.match(await vp.getByTestId("invite-role-words").textContent(), /invited as editor/);
      await shot(vp, "invite-page");
      await vp.getByTestId("invite-signup").click();
      await vp.waitForURL(/#\/signup$/);
      const name = uniqueName("bob");
      await vp.getByTestId("auth-name").fill(name);
      await vp.getByTestId("auth-password").fill(PASSWORD);
      await vp.getByTestId("auth-submit").click();
      // Joined by itself: on the team's page, a member with the link's role, the board listed.
      await vp.waitForURL(new RegExp(`#/teams/${team.id}$`));
      await vp.getByTestId("team-title").filter({ hasText: "Design crew" }).waitFor();
      await vp.locator(`[data-testid="member"][data-name="${name}"]`).waitFor();
      assert.equal(await vp.getByTestId("invites").count(), 0, "no invite section for an editor");
      await vp.locator(`[data-board-id="${board.id}"] [data-testid="board-link"]`).click();
      await vp.waitForURL(new RegExp(`#/boards/${board.id}$`));
      await vp.locator('[data-testid="live-status"][data-state="live"]').waitFor({ timeout: 15000 });

      // The admin's list counts the use; revoking ends the link.
      await page.reload();
      const row = page.getByTestId("invite-row").filter({ hasText: "Editor · 1 of 2 used" });
      await row.waitFor();
      await row.getByTestId("invite-revoke").click();
      await page.getByTestId("confirm-ok").click();
      await page.getByTestId("invite-none").waitFor();
      const late = await (await tr.newContext(browser)).newPage();
      await late.goto(url);
      await late.getByTestId("form-error").filter({ hasText: "expired, was used up or was revoked" }).waitFor();
    });
  });
});
