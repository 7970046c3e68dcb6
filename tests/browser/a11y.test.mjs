// axe-core (npm, injected into the page) on every screen: sign-in, sign-up, the reset link page,
// the boards list, the teams list, a team page (with a new invite link too), an invite link page
// (signed out), the Trash page, the account page, a confirm
// dialog, a board with notes, its trash panel, a note's editor open, the conflict box, the offline
// banner, and the same at phone size. Any serious or critical
// violation fails. Also: touch targets of the shell (header, lists, forms, dialogs) are at least
// 44 x 44 px on a phone.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  launch, withTracker, apiOk, userContext, openBoard, note, within, axeViolations, shot, BASE,
} from "./lib.mjs";
import { CutProxy } from "./cutproxy.mjs";

// axe is injected as a script of its own: the app's Content-Security-Policy (default-src 'self')
// would refuse it, so these contexts bypass the CSP (only they: the other tests keep it).
const LAPTOP = { bypassCSP: true };
const PHONE = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2, bypassCSP: true };

describe("accessibility: axe-core on every screen, touch targets", () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  // Runs axe on the page as it is; collects "screen: violation" lines.
  async function check(page, screen, found) {
    await page.evaluate(() => document.fonts && document.fonts.ready);
    for (const v of await axeViolations(page)) found.push(`${screen}: ${v}`);
  }

  // Everyone's fixture: alice admin of a team with bob, a team board with notes.
  async function world(tr, opts) {
    const alice = await userContext(tr, browser, "alice", opts);
    const bob = await userContext(tr, browser, "bob", LAPTOP);
    const team = await apiOk(alice.ctx, "POST", "/teams", { name: "Design" });
    await apiOk(alice.ctx, "POST", `/teams/${team.id}/members`, { name: bob.name, role: "editor" });
    const board = await apiOk(alice.ctx, "POST", "/boards", { title: "Sprint retro", team_id: team.id });
    await apiOk(alice.ctx, "POST", "/boards", { title: "Personal notes" });
    const old = await apiOk(alice.ctx, "POST", "/boards", { title: "Old plans" });
    await apiOk(alice.ctx, "DELETE", `/boards/${old.id}`, undefined, { "If-Match": `"${old.version}"` });
    const items = [];
    for (const [i, c] of ["#fff59d", "#b3e5fc", "#f8bbd0", "#c5e1a5", "#ffcc80"].entries()) {
      items.push(await apiOk(alice.ctx, "POST", `/boards/${board.id}/items`, { text: `Idea ${i + 1}`, x: 30 + 230 * (i % 2), y: 30 + 180 * Math.floor(i / 2), color: c }));
    }
    const binned = items.pop();  // in the board's trash
    await apiOk(alice.ctx, "DELETE", `/boards/${board.id}/items/${binned.id}`, undefined, { "If-Match": `"${binned.version}"` });
    return { alice, bob, team, board, items };
  }

  async function screensSignedOut(tr, found, opts, tag) {
    const ctx = await tr.newContext(browser, opts);
    const page = await ctx.newPage();
    await page.goto(`${BASE}#/signin`);
    await page.getByTestId("auth-submit").waitFor();
    await check(page, `${tag}sign-in`, found);
    await page.getByTestId("auth-submit").click();  // the form's error line
    await page.getByTestId("form-error").waitFor();
    await check(page, `${tag}sign-in with an error`, found);
    await page.goto(`${BASE}#/signup`);
    await page.getByText("Create your account").waitFor();
    await check(page, `${tag}sign-up`, found);
    await page.goto(`${BASE}#/reset-password/${"0".repeat(64)}`);
    await page.getByTestId("reset-submit").waitFor();
    await check(page, `${tag}reset link page`, found);
  }

  async function screensShell(page, w, found, tag) {
    await page.goto(`${BASE}#/boards`);
    await page.getByTestId("board-card").first().waitFor();
    await check(page, `${tag}boards list`, found);
    await page.getByTestId("board-delete").first().click();
    await page.getByTestId("confirm").waitFor();
    await check(page, `${tag}confirm dialog`, found);
    await page.getByTestId("confirm-cancel").click();
    await page.goto(`${BASE}#/teams`);
    await page.getByTestId("team-link").first().waitFor();
    await check(page, `${tag}teams list`, found);
    await page.goto(`${BASE}#/teams/${w.team.id}`);
    await page.getByTestId("member-list").waitFor();
    await page.getByTestId("invite-none").waitFor();
    await check(page, `${tag}team page`, found);
    await page.getByTestId("invite-create").click();
    const inviteUrl = await page.getByTestId("invite-url").inputValue();
    await page.getByTestId("invite-row").waitFor();
    await check(page, `${tag}team page with a new invite link`, found);
    await page.goto(`${BASE}#/trash`);
    await page.getByTestId("trash-board").first().waitFor();
    await check(page, `${tag}Trash page`, found);
    await page.goto(`${BASE}#/account`);
    await page.getByTestId("pw-form").waitFor();
    await check(page, `${tag}account page`, found);
    return inviteUrl;
  }

  // The page of an invite link (made in screensShell), signed out.
  async function screenInvite(tr, found, opts, tag, url) {
    const page = await (await tr.newContext(browser, opts)).newPage();
    await page.goto(url);
    await page.getByTestId("invite-signup").waitFor();
    await check(page, `${tag}invite link page`, found);
  }

  async function screensBoard(ctx, w, found, tag) {
    const page = await openBoard(ctx, w.board.id);
    await check(page, `${tag}board with notes`, found);
    await page.getByTestId("board-trash").click();
    await page.getByTestId("trash-item").first().waitFor();
    await check(page, `${tag}board, trash panel`, found);
    await shot(page, `${tag ? "31-phone" : "30"}-board-trash`);
    await page.getByTestId("trash-close").click();
    await note(page, w.items[0].id).dblclick();
    await page.getByTestId("note-input").waitFor();
    await check(page, `${tag}board, a note's editor open`, found);
    await page.getByTestId("note-input").fill("mine");
    // bob changes the same note meanwhile: saving shows the conflict box
    await apiOk(w.bob.ctx, "PATCH", `/boards/${w.board.id}/items/${w.items[0].id}`, { text: "theirs" }, { "If-Match": `"${w.items[0].version}"` });
    await page.keyboard.press("Control+Enter");
    try {
      await page.locator('[data-testid^="conflict"]').first().waitFor({ timeout: 5000 });
      await check(page, `${tag}board, conflict box`, found);
    } catch (_) {
      found.push(`${tag}board, conflict box: NOT REACHED (the note was saved without a conflict box)`);
    }
    return page;
  }

  test("laptop: no serious or critical violation on any screen", async (t) => {
    await withTracker(t, browser, async (tr) => {
      tr.allow(/status of 4(01|12)/);  // the sign-in error and the conflict, logged by the browser
      const found = [];
      await screensSignedOut(tr, found, LAPTOP, "");
      const w = await world(tr, LAPTOP);
      const page = await w.alice.ctx.newPage();
      await screenInvite(tr, found, LAPTOP, "", await screensShell(page, w, found, ""));
      await screensBoard(w.alice.ctx, w, found, "");
      assert.deepEqual(found, []);
    });
  });

  test("phone (390 x 844, touch): no serious or critical violation on any screen", async (t) => {
    await withTracker(t, browser, async (tr) => {
      tr.allow(/status of 4(01|12)/);
      const found = [];
      await screensSignedOut(tr, found, PHONE, "phone ");
      const w = await world(tr, PHONE);
      const page = await w.alice.ctx.newPage();
      await screenInvite(tr, found, PHONE, "phone ", await screensShell(page, w, found, "phone "));
      await screensBoard(w.alice.ctx, w, found, "phone ");
      assert.deepEqual(found, []);
    });
  });

  test("the offline banner: no serious or critical violation", async (t) => {
    await withTracker(t, browser, async (tr) => {
      tr.allow(/net::ERR_|Failed to load resource/);
      const proxy = await CutProxy.start(BASE);
      try {
        const w = await world(tr, LAPTOP);
        const page = await w.alice.ctx.newPage();
        await page.goto(`${proxy.url}#/boards/${w.board.id}`);
        await page.locator('[data-testid="live-status"][data-state="live"]').waitFor({ timeout: 15000 });
        proxy.cut();
        await within(page, 10000, () => !document.querySelector('[data-testid="offline-banner"]').hidden, null, "banner");
        const found = [];
        await check(page, "offline banner on a board", found);
        proxy.restore();
        assert.deepEqual(found, []);
      } finally {
        await proxy.close();
      }
    });
  });

  test("phone: the shell's touch targets are at least 44 x 44 px", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const w = await world(tr, PHONE);
      const page = await w.alice.ctx.newPage();
      const small = [];
      const measure = async (screen) => {
        const found = await page.evaluate(() => {
          const out = [];
          const scope = [document.querySelector("#app-header"), ...document.querySelectorAll(".view:not(.view-board)"), ...document.querySelectorAll("dialog[open]")];
          for (const root of scope) {
            if (!root) continue;
            for (const el of root.querySelectorAll("a[href], button, input, select, textarea, [role=button]")) {
              const r = el.getBoundingClientRect();
              const cs = getComputedStyle(el);
              if (r.width === 0 || r.height === 0 || cs.visibility === "hidden") continue;
              if (r.width < 44 || r.height < 44) out.push(`${el.tagName.toLowerCase()}[${el.dataset.testid || el.getAttribute("aria-label") || el.textContent.trim().slice(0, 20)}] ${Math.round(r.width)}x${Math.round(r.height)}`);
            }
          }
          return out;
        });
        for (const f of found) small.push(`${screen}: ${f}`);
      };
      await page.goto(`${BASE}#/boards`);
      await page.getByTestId("board-card").first().waitFor();
      await measure("boards list");
      await shot(page, "22-boards-phone");
      await page.getByTestId("board-delete").first().click();
      await page.getByTestId("confirm").waitFor();
      await measure("confirm dialog");
      await page.getByTestId("confirm-cancel").click();
      await page.goto(`${BASE}#/teams`);
      await page.getByTestId("team-link").first().waitFor();
      await measure("teams list");
      await page.goto(`${BASE}#/teams/${w.team.id}`);
      await page.getByTestId("member-list").waitFor();
      await measure("team page");
      await shot(page, "23-team-phone");
      await page.goto(`${BASE}#/trash`);
      await page.getByTestId("trash-board").first().waitFor();
      await measure("Trash page");
      await page.goto(`${BASE}#/account`);
      await page.getByTestId("pw-form").waitFor();
      await measure("account page");
      const ctx = await tr.newContext(browser, PHONE);
      const out = await ctx.newPage();
      await out.goto(`${BASE}#/signin`);
      await out.getByTestId("auth-submit").waitFor();
      const signIn = await out.evaluate(() => [...document.querySelectorAll("#app-header a[href], #app-header button, .view a[href], .view button, .view input")]
        .map((el) => [el.dataset.testid || el.textContent.trim().slice(0, 20), el.getBoundingClientRect()])
        .filter(([, r]) => r.width && r.height && (r.width < 44 || r.height < 44))
        .map(([n, r]) => `${n} ${Math.round(r.width)}x${Math.round(r.height)}`));
      for (const f of signIn) small.push(`sign-in: ${f}`);
      assert.deepEqual(small, []);
    });
  });
});
