// The account page (#/account, from the user's name in the header) and the reset link's page
// (#/reset-password/<token>): a password change signs the user's other browsers out (their board
// stream gets revoked session_ended: the page goes to sign-in) and a wrong current password is
// said in words (403 wrong_password); deleting the account needs the password, explains 409
// last_admin and ends at sign-in; a link made by teamboard-admin reset-password sets a password
// once (then 410 gone), a malformed one is refused.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { launch, withTracker, apiOk, apiCall, userContext, openBoard, signInForm, PASSWORD, BASE } from "./lib.mjs";

const SECOND = 1000;
const NEW_PASSWORD = "a brand new secret";

// A reset link for user name: the environment's teamboard-admin (run.sh sets TB_ADMIN).
function resetToken(name) {
  const parts = process.env.TB_ADMIN.split(/\s+/).filter(Boolean);
  const r = spawnSync(parts[0], [...parts.slice(1), "reset-password", name], { input: "", encoding: "utf8", timeout: 30000 });
  assert.equal(r.status, 0, `teamboard-admin reset-password: ${r.stdout}${r.stderr}`);
  const m = /\/#\/reset-password\/([0-9a-f]{64})$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  return m[1];
}

describe("account: password, deletion, reset links", () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  async function accountPage(ctx) {
    const page = await ctx.newPage();
    await page.goto(`${BASE}#/boards`);
    await page.getByTestId("account-link").click();
    await page.waitForURL(/#\/account$/);
    await page.getByTestId("pw-form").waitFor();
    return page;
  }

  test("change password: a wrong current password is refused in words; then the other browser of the same user goes to sign-in, this one stays", async (t) => {
    await withTracker(t, browser, async (tr) => {
      tr.allow(/status of 403/);
      const alice = await userContext(tr, browser, "alice");
      const board = await apiOk(alice.ctx, "POST", "/boards", { title: "Mine" });
      // the same user in a second browser, on a board (a live stream)
      const other = await tr.newContext(browser);
      await apiOk(other, "POST", "/sessions", { name: alice.name, password: PASSWORD });
      await other.addInitScript(() => { try { localStorage.setItem("teamboard.signedIn", "1"); } catch (_) { /* about:blank */ } });
      const po = await openBoard(other, board.id);
      const page = await accountPage(alice.ctx);
      assert.equal(await page.evaluate(() => document.activeElement?.tagName), "H1", "focus on the heading");
      await page.getByTestId("pw-current").fill("not my password");
      await page.getByTestId("pw-new").fill(NEW_PASSWORD);
      await page.getByTestId("pw-repeat").fill(NEW_PASSWORD);
      await page.getByTestId("pw-submit").click();
      await page.getByTestId("form-error").filter({ hasText: "That isn't your current password." }).waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "pw-current");
      // repeats that differ are caught before any request
      await page.getByTestId("pw-current").fill(PASSWORD);
      await page.getByTestId("pw-repeat").fill("something else");
      await page.getByTestId("pw-submit").click();
      await page.getByTestId("form-error").filter({ hasText: "not the same" }).waitFor();
      await page.getByTestId("pw-repeat").fill(NEW_PASSWORD);
      const saved = page.waitForResponse((r) => r.url().endsWith("/users/me"));
      await page.getByTestId("pw-submit").click();
      assert.equal((await saved).status(), 200);
      await page.getByTestId("pw-ok").filter({ hasText: "other sessions" }).waitFor();
      // the other browser: its stream is revoked, the page goes to sign-in
      await po.waitForURL(/#\/signin$/, { timeout: 5 * SECOND });
      await po.getByTestId("notice").filter({ hasText: "session has ended" }).waitFor();
      // this browser is still signed in; the new password works
      assert.equal((await apiCall(alice.ctx, "GET", "/me")).status, 200);
      await signInForm(po, alice.name, NEW_PASSWORD);
      await po.waitForURL(/#\/boards\/\d+$/);
    });
  });

  test("delete account: 409 last_admin explained; after an admin is made, the account goes and the page is at sign-in", async (t) => {
    await withTracker(t, browser, async (tr) => {
      tr.allow(/status of 409/);
      const alice = await userContext(tr, browser, "alice");
      const bob = await userContext(tr, browser, "bob");
      const team = await apiOk(alice.ctx, "POST", "/teams", { name: `Team ${alice.name}` });
      await apiOk(alice.ctx, "POST", `/teams/${team.id}/members`, { name: bob.name, role: "editor" });
      const page = await accountPage(alice.ctx);
      await page.getByTestId("del-password").fill(PASSWORD);
      await page.getByTestId("del-submit").click();
      await page.getByTestId("confirm-ok").click();
      await page.getByTestId("del-form").getByTestId("form-error").filter({ hasText: "only admin of a team" }).waitFor();
      await apiOk(alice.ctx, "PATCH", `/teams/${team.id}/members/${bob.user.id}`, { role: "admin" });
      await page.getByTestId("del-submit").click();
      await page.getByTestId("confirm-ok").click();
      await page.waitForURL(/#\/signin$/, { timeout: 5 * SECOND });
      await page.getByTestId("notice").filter({ hasText: "Your account is deleted." }).waitFor();
      assert.equal((await apiCall(bob.ctx, "POST", "/sessions", { name: alice.name, password: PASSWORD })).status, 401);
    });
  });

  test("reset link: sets the password once (sign in with it), the second use says the link is gone; a malformed link is refused", { skip: !process.env.TB_ADMIN && "needs TB_ADMIN (run.sh sets it)" }, async (t) => {
    await withTracker(t, browser, async (tr) => {
      tr.allow(/status of 410/);
      const alice = await userContext(tr, browser, "alice");
      const token = resetToken(alice.name);
      const ctx = await tr.newContext(browser);
      const page = await ctx.newPage();
      await page.goto(`${BASE}#/reset-password/${token}`);
      await page.getByTestId("reset-submit").waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.tagName), "H1", "focus on the heading");
      await page.getByTestId("reset-new").fill(NEW_PASSWORD);
      await page.getByTestId("reset-repeat").fill(NEW_PASSWORD);
      await page.getByTestId("reset-submit").click();
      await page.getByTestId("reset-ok").waitFor({ timeout: 5 * SECOND });
      await page.getByTestId("to-signin").click();
      await page.waitForURL(/#\/signin$/);
      await signInForm(page, alice.name, NEW_PASSWORD);
      await page.waitForURL(/#\/boards$/);
      // the same link again: gone
      const again = await ctx.newPage();
      await again.goto(`${BASE}#/reset-password/${token}`);
      await again.getByTestId("reset-new").fill("yet another secret");
      await again.getByTestId("reset-repeat").fill("yet another secret");
      await again.getByTestId("reset-submit").click();
      await again.getByTestId("form-error").filter({ hasText: "link that was used or has expired" }).waitFor();
      assert.equal(await again.getByTestId("reset-submit").isDisabled(), true);
      await again.goto(`${BASE}#/reset-password/not-a-token`);
      await again.getByTestId("form-error").filter({ hasText: "isn't a valid reset link" }).waitFor();
    });
  });
});
