// One person at the board: sign up, boards, notes (add, move, resize, recolor, edit, front,
// delete), persistence across a reload, keyboard use, phone width with touch-drag.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  launch, withTracker, uniqueName, shot, apiOk, userContext, note, noteBox, within, waitUntil, BASE, PASSWORD,
} from "./lib.mjs";

describe("one person at the board", () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  test("sign up, create a board, add/move/resize/recolor/edit/delete notes, reload: all persisted", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const ctx = await tr.newContext(browser);
      const page = await ctx.newPage();
      await page.goto(BASE);
      await page.getByTestId("auth-submit").waitFor();
      await shot(page, "01-sign-in");

      // sign up (registration is open in the test environment), which also signs in
      const name = uniqueName("ann");
      await page.getByTestId("to-signup").click();
      await page.getByTestId("auth-name").fill(name);
      await page.getByTestId("auth-password").fill("short");
      await page.getByTestId("auth-submit").click();
      await page.getByText("The password needs at least 8 characters.").waitFor();
      await page.getByTestId("auth-password").fill(PASSWORD);
      await page.getByTestId("auth-submit").click();
      await page.getByTestId("me").filter({ hasText: name }).waitFor();
      await page.getByTestId("boards-empty").waitFor();
      await shot(page, "02-boards-empty");

      // create a board
      await page.getByTestId("new-board-title").fill("Sprint retro");
      await page.getByTestId("new-board-submit").click();
      await page.getByTestId("board-title").filter({ hasText: "Sprint retro" }).waitFor();
      await page.locator('[data-testid="live-status"][data-state="live"]').waitFor();
      const boardId = Number(page.url().match(/#\/boards\/(\d+)/)[1]);

      // add a note by double-clicking empty space, type, save with Ctrl+Enter
      const canvas = page.getByTestId("canvas");
      await canvas.dblclick({ position: { x: 300, y: 220 } });
      await page.getByTestId("note-input").waitFor();
      await page.keyboard.type("Went well: the demo");
      await page.keyboard.press("Control+Enter");
      const first = page.getByTestId("note").first();
      await within(page, 3000, () => document.querySelector('[data-testid="note"]')?.dataset.sync === "saved" &&
        /^\d+$/.test(document.querySelector('[data-testid="note"]').dataset.id), null, "text saved");
      const id1 = Number(await first.getAttribute("data-id"));
      let b1 = await noteBox(page, id1);
      assert.equal(b1.text, "Went well: the demo");
      assert.deepEqual([b1.x, b1.y, b1.w, b1.h], [200, 145, 200, 150]);  // centered on the double-click

      // add a second note with the button; leaving the editor by clicking away saves it
      await page.getByTestId("new-note").click();
      await page.getByTestId("note-input").waitFor();
      await page.keyboard.type("To improve: fewer meetings");
      await canvas.click({ position: { x: 700, y: 560 } });  // empty space (the minimap is bottom right)
      await within(page, 3000, () => [...document.querySelectorAll('[data-testid="note"]')].every((n) => n.dataset.sync === "saved" && /^\d+$/.test(n.dataset.id)), null, "second note saved");
      const ids = await page.getByTestId("note").evaluateAll((els) => els.map((e) => Number(e.dataset.id)));
      const id2 = ids.find((i) => i !== id1);

      // move note 1 by dragging with the mouse
      const box = await note(page, id1).boundingBox();
      await page.mouse.move(box.x + 100, box.y + 60);
      await page.mouse.down();
      await page.mouse.move(box.x + 160, box.y + 100, { steps: 6 });
      await page.mouse.move(box.x + 220, box.y + 140, { steps: 6 });
      const moved = page.waitForResponse((r) => r.request().method() === "PATCH" && r.url().endsWith(`/items/${id1}`));
      await page.mouse.up();
      assert.equal((await moved).status(), 200);
      b1 = await noteBox(page, id1);
      assert.deepEqual([b1.x, b1.y], [320, 225]);

      // resize it with the handle
      await note(page, id1).hover();
      const handle = note(page, id1).getByTestId("note-resize");
      const hb = await handle.boundingBox();
      const hx = hb.x + hb.width / 2;
      const hy = hb.y + hb.height / 2;
      await page.mouse.move(hx, hy);
      await page.mouse.down();
      await page.mouse.move(hx + 60, hy + 40, { steps: 5 });
      await page.mouse.move(hx + 90, hy + 60, { steps: 5 });
      const resized = page.waitForResponse((r) => r.request().method() === "PATCH" && r.url().endsWith(`/items/${id1}`));
      await page.mouse.up();
      assert.equal((await resized).status(), 200);
      b1 = await noteBox(page, id1);
      assert.deepEqual([b1.w, b1.h], [290, 210]);

      // recolor it
      await note(page, id1).click({ position: { x: 40, y: 40 } });
      await page.getByTestId("note-toolbar").getByTestId("note-color").click();
      await page.getByTestId("note-toolbar").locator('[data-color="#b3e5fc"]').click();
      await within(page, 3000, (id) => document.querySelector(`[data-id="${id}"]`).dataset.color === "#b3e5fc", id1, "recolor");

      // edit its text in place (double-click), Escape keeps a draft, Discard drops it, then a real edit
      await note(page, id1).dblclick({ position: { x: 60, y: 60 } });
      await page.getByTestId("note-input").fill("cancelled edit");
      await page.keyboard.press("Escape");
      assert.equal((await noteBox(page, id1)).text, "cancelled edit");
      await note(page, id1).getByTestId("draft-discard").click();
      assert.equal((await noteBox(page, id1)).text, "Went well: the demo");
      await note(page, id1).dblclick({ position: { x: 60, y: 60 } });
      await page.getByTestId("note-input").fill("Went well: the demo\nand the release");
      const edited = page.waitForResponse((r) => r.request().method() === "PATCH" && r.url().endsWith(`/items/${id1}`));
      await page.keyboard.press("Control+Enter");
      assert.equal((await edited).status(), 200);

      // bring note 2 to the front (it was created later, so it is on top: put 1 on top instead)
      const zBefore = (await apiOk(ctx, "GET", `/boards/${boardId}/items/${id2}`)).z;
      await page.getByTestId("note-toolbar").getByTestId("note-front").click();
      await within(page, 3000, ([a, b]) => Number(document.querySelector(`[data-id="${a}"]`).dataset.version) >= 6 &&
        Number(document.querySelector(`[data-id="${a}"]`).style.zIndex) > Number(document.querySelector(`[data-id="${b}"]`).style.zIndex), [id1, id2], "bring to front");
      await shot(page, "03-board-notes");

      // a third note, deleted with the toolbar button (it is empty: no confirmation)
      await page.getByTestId("new-note").click();
      await page.getByTestId("note-input").waitFor();
      await page.keyboard.press("Escape");
      await within(page, 3000, () => document.querySelectorAll('[data-testid="note"]').length === 3 &&
        [...document.querySelectorAll('[data-testid="note"]')].every((n) => /^\d+$/.test(n.dataset.id)), null, "third note");
      const id3 = (await page.getByTestId("note").evaluateAll((els) => els.map((e) => Number(e.dataset.id)))).find((i) => i !== id1 && i !== id2);
      await note(page, id3).focus();
      const deleted = page.waitForResponse((r) => r.request().method() === "DELETE" && r.url().endsWith(`/items/${id3}`));
      await page.getByTestId("note-toolbar").getByTestId("note-delete").click();
      await within(page, 3000, (id) => !document.querySelector(`[data-id="${id}"]`), id3, "note deleted");
      // saved before the reload (a reload while it is on its way sends it again from the stored
      // queue: the server's 404 then counts as saved, but the browser logs the 404)
      assert.equal((await deleted).status(), 204);

      // reload: everything is as it was
      const expect1 = await noteBox(page, id1);
      const expect2 = await noteBox(page, id2);
      await page.reload();
      await page.locator('[data-testid="live-status"][data-state="live"]').waitFor();
      assert.equal(await page.getByTestId("note").count(), 2);
      const after1 = await noteBox(page, id1);
      const after2 = await noteBox(page, id2);
      assert.deepEqual(after1, expect1);
      assert.deepEqual(after2, expect2);
      assert.deepEqual({ x: after1.x, y: after1.y, w: after1.w, h: after1.h, color: after1.color, text: after1.text },
        { x: 320, y: 225, w: 290, h: 210, color: "#b3e5fc", text: "Went well: the demo\nand the release" });
      const server = await apiOk(ctx, "GET", `/boards/${boardId}`);
      const s1 = server.items.find((i) => i.id === id1);
      assert.deepEqual([s1.x, s1.y, s1.width, s1.height, s1.color, s1.text],
        [320, 225, 290, 210, "#b3e5fc", "Went well: the demo\nand the release"]);
      assert.ok(s1.z > zBefore, "z above the other note");
      assert.equal(server.items.length, 2);

      // rename the board from the board page, then the boards list shows it
      await page.getByTestId("board-rename").click();
      await page.getByTestId("board-rename-input").fill("Sprint 42 retro");
      await page.getByTestId("board-rename-save").click();
      await page.getByTestId("board-title").filter({ hasText: "Sprint 42 retro" }).waitFor();
      await page.goto(`${BASE}#/boards`);
      await page.getByTestId("board-link").filter({ hasText: "Sprint 42 retro" }).waitFor();
      await shot(page, "04-boards");

      // sign out, sign in again
      await page.getByTestId("signout").click();
      await page.getByTestId("auth-submit").waitFor();
      await page.getByTestId("auth-name").fill(name);
      await page.getByTestId("auth-password").fill("wrong password");
      await page.getByTestId("auth-submit").click();
      await page.getByText("That name and password don't match an account.").waitFor();
      tr.allow(/status of 401 .*\/api\/v1\/sessions/);
      await page.getByTestId("auth-password").fill(PASSWORD);
      await page.getByTestId("auth-submit").click();
      await page.getByTestId("board-link").filter({ hasText: "Sprint 42 retro" }).waitFor();

      // delete the board from the list
      await page.getByTestId("board-delete").click();
      await page.getByTestId("confirm-ok").click();
      await page.getByTestId("boards-empty").waitFor();
    });
  });

  test("keyboard: focus a note, Enter edits, Alt+arrows move, F brings to front, Delete deletes", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const { ctx } = await userContext(tr, browser, "kim");
      const board = await apiOk(ctx, "POST", "/boards", { title: "Keyboard" });
      const a = await apiOk(ctx, "POST", `/boards/${board.id}/items`, { text: "first", x: 100, y: 100 });
      const b = await apiOk(ctx, "POST", `/boards/${board.id}/items`, { text: "second", x: 400, y: 100 });
      const far = await apiOk(ctx, "POST", `/boards/${board.id}/items`, { text: "far away", x: 2400, y: 1500 });
      const page = await ctx.newPage();
      await page.goto(`${BASE}#/boards/${board.id}`);
      await page.locator('[data-testid="live-status"][data-state="live"]').waitFor();

      // Tab reaches the notes; the focused one shows a visible ring (box-shadow)
      await page.getByTestId("canvas").focus();
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => document.activeElement.dataset.id);
      assert.equal(Number(focused), a.id);
      // (the ring fades in over 150 ms: app.css's box-shadow transition)
      await within(page, 3000, (id) => getComputedStyle(document.querySelector(`[data-id="${id}"]`)).boxShadow
        .includes("rgb(63, 81, 181) 0px 0px 0px 4px"), a.id, "the focus ring (the accent colour, 4 px)");

      await page.keyboard.press("Enter");
      await page.getByTestId("note-input").fill("first, edited by keyboard");
      await page.keyboard.press("Control+Enter");
      await within(page, 3000, (id) => document.querySelector(`[data-id="${id}"]`).dataset.version === "2", a.id, "keyboard edit saved");
      assert.equal(await page.evaluate(() => document.activeElement.dataset.id), String(a.id));

      // Alt+arrows: 3 x right (10 px), 1 x Alt+Shift+down (50 px): one PATCH after a pause
      const patches = [];
      page.on("request", (r) => { if (r.method() === "PATCH") patches.push(r.postDataJSON()); });
      await page.keyboard.press("Alt+ArrowRight");
      await page.keyboard.press("Alt+ArrowRight");
      await page.keyboard.press("Alt+ArrowRight");
      await page.keyboard.press("Alt+Shift+ArrowDown");
      await within(page, 3000, (id) => document.querySelector(`[data-id="${id}"]`).dataset.version === "3", a.id, "keyboard move saved");
      assert.deepEqual(patches, [{ x: 130, y: 150 }]);

      await page.keyboard.press("f");
      await within(page, 3000, ([x, y]) => Number(document.querySelector(`[data-id="${x}"]`).style.zIndex) > Number(document.querySelector(`[data-id="${y}"]`).style.zIndex), [a.id, b.id], "front");

      // C opens the color palette on the current color; arrows pick, Enter applies
      await page.keyboard.press("c");
      assert.equal(await page.evaluate(() => document.activeElement.dataset.color), "#fff59d");
      await page.keyboard.press("ArrowRight");
      await page.keyboard.press("Enter");
      await within(page, 3000, (id) => document.querySelector(`[data-id="${id}"]`).dataset.color === "#ffcc80", a.id, "color by keyboard");
      assert.equal(await page.evaluate(() => document.activeElement.dataset.id), String(a.id));

      await page.keyboard.press("Delete");
      await page.getByTestId("confirm").waitFor();
      await page.keyboard.press("Tab");
      await page.keyboard.press("Enter");  // "Delete" in the dialog
      await within(page, 3000, (id) => !document.querySelector(`[data-id="${id}"]`), a.id, "deleted by keyboard");
      // the note goes at once; the delete reaches the server through the outbox
      let items = await waitUntil(async () => {
        const l = (await apiOk(ctx, "GET", `/boards/${board.id}`)).items;
        return l.length === 2 && l;
      }, 3000, "deleted on the server");
      assert.deepEqual(items.map((i) => i.id), [b.id, far.id]);

      // Tab to a note off-screen: the board pans to show it, and the canvas keeps its geometry
      // (a double-click then adds a note right under the pointer)
      await page.getByTestId("canvas").focus();
      await page.keyboard.press("Tab");
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate(() => document.activeElement.dataset.id), String(far.id));
      const vb = await note(page, far.id).boundingBox();
      assert.ok(vb.x >= 0 && vb.x + vb.width <= 1280 && vb.y >= 0 && vb.y + vb.height <= 800, `far note visible: ${JSON.stringify(vb)}`);
      // the ring shows while the view is still moving (notes drop their shadows then, not the ring)
      const moving = await page.getByTestId("canvas").evaluate((c, id) =>
        [c.classList.contains("view-moving"), getComputedStyle(c.querySelector(`[data-id="${id}"]`)).boxShadow], far.id);
      assert.match(moving[1], /rgb\(63, 81, 181\) 0px 0px 0px 4px/, `ring while the view moves (view-moving: ${moving[0]})`);
      assert.deepEqual(await page.getByTestId("canvas").evaluate((c) => [c.scrollLeft, c.scrollTop]), [0, 0]);
      const created = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/items"));
      await page.getByTestId("canvas").dblclick({ position: { x: 300, y: 300 } });
      const nn = await (await created).json();
      await page.keyboard.press("Escape");
      const cb = await page.getByTestId("canvas").boundingBox();
      const nb = await note(page, nn.id).boundingBox();
      assert.ok(Math.abs(nb.x + nb.width / 2 - (cb.x + 300)) <= 2 && Math.abs(nb.y + nb.height / 2 - (cb.y + 300)) <= 2,
        `new note centered on the double-click: ${JSON.stringify(nb)}`);
      items = (await apiOk(ctx, "GET", `/boards/${board.id}`)).items;
      assert.equal(items.length, 3);
    });
  });

  test("Delete while our own colour change is saving: the delete carries the version it saved (no 412)", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const { ctx } = await userContext(tr, browser, "kit");
      const board = await apiOk(ctx, "POST", "/boards", { title: "Delete race" });
      const a = await apiOk(ctx, "POST", `/boards/${board.id}/items`, { text: "recolour then delete", x: 100, y: 100 });
      const page = await ctx.newPage();
      await page.goto(`${BASE}#/boards/${board.id}`);
      await page.locator('[data-testid="live-status"][data-state="live"]').waitFor();
      // the colour PATCH is held until the delete dialog is open (a slow server)
      let release;
      const held = new Promise((res) => { release = res; });
      const sent = [];
      page.on("request", (r) => { if (r.url().includes("/items/")) sent.push(`${r.method()} ${r.headers()["if-match"] || "-"}`); });
      await page.route("**/api/v1/boards/*/items/*", async (route) => {
        if (route.request().method() === "PATCH") await held;
        await route.continue();
      });
      await note(page, a.id).focus();
      await page.keyboard.press("c");
      await page.keyboard.press("ArrowRight");
      await page.keyboard.press("Enter");
      await page.keyboard.press("Delete");
      await page.getByTestId("confirm").waitFor();
      const saved = page.waitForResponse((r) => r.request().method() === "PATCH");
      release();
      assert.equal((await saved).status(), 200);
      await within(page, 3000, (id) => document.querySelector(`[data-id="${id}"]`).dataset.version === "2", a.id, "colour saved");
      await page.keyboard.press("Tab");
      await page.keyboard.press("Enter");  // "Delete" in the dialog
      await within(page, 3000, (id) => !document.querySelector(`[data-id="${id}"]`), a.id, "deleted");
      await waitUntil(async () => (await apiOk(ctx, "GET", `/boards/${board.id}`)).items.length === 0, 3000, "deleted on the server");
      assert.deepEqual(sent, ['PATCH "1"', 'DELETE "2"']);
    });
  });

  test("phone width: readable layout and touch-drag moves a note", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const { ctx } = await userContext(tr, browser, "pia", {
        viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2,
      });
      const board = await apiOk(ctx, "POST", "/boards", { title: "On the go" });
      const it = await apiOk(ctx, "POST", `/boards/${board.id}/items`, { text: "Drag me with a finger", x: 30, y: 40, color: "#f8bbd0" });
      await apiOk(ctx, "POST", `/boards/${board.id}/items`, { text: "Call the venue", x: 150, y: 260, color: "#c5e1a5", width: 190, height: 130 });
      const page = await ctx.newPage();
      await page.goto(`${BASE}#/boards/${board.id}`);
      await page.locator('[data-testid="live-status"][data-state="live"]').waitFor();

      // nothing wider than the screen
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
      await page.getByTestId("new-note").waitFor();

      // a touch drag (CDP touch events -> pointer events of type "touch")
      const cdp = await ctx.newCDPSession(page);
      const box = await note(page, it.id).boundingBox();
      const sx = Math.round(box.x + 80);
      const sy = Math.round(box.y + 70);
      await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [{ x: sx, y: sy }] });
      for (let i = 1; i <= 10; i++) {
        await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: [{ x: sx + 6 * i, y: sy + 12 * i }] });
      }
      const saved = page.waitForResponse((r) => r.request().method() === "PATCH");
      await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
      assert.equal((await saved).status(), 200);
      const s = await apiOk(ctx, "GET", `/boards/${board.id}/items/${it.id}`);
      assert.deepEqual([s.x, s.y], [90, 160]);
      await shot(page, "05-board-phone");

      await page.goto(`${BASE}#/boards`);
      await page.getByTestId("board-card").first().waitFor();
      const overflow2 = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow2 <= 0, "boards list fits the phone");
      await shot(page, "06-boards-phone");
    });
  });
});
