// The outbox and the shell with the network cut for real: a loopback proxy (cutproxy.mjs)
// between Chromium and the server drops every open connection, event streams included, and
// refuses new ones. Changes made meanwhile stay on screen, are kept across a reload and are
// saved once the network is back; a 5xx is retried; the shell shows an offline banner; the board
// is told what happened while it was away.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  launch, withTracker, teamBoard, apiOk, note, noteBox, within, webctl, sleep, shot,
} from "./lib.mjs";
import { CutProxy } from "./cutproxy.mjs";

const SECOND = 1000;

describe("outbox: the network cut by a proxy, a 5xx, a reload", () => {
  let browser;
  let proxy;
  before(async () => {
    browser = await launch();
    proxy = await CutProxy.start(process.env.TB_BASE_URL || "http://127.0.0.1:8080/");
  });
  after(async () => {
    await proxy?.close();
    await browser?.close();
  });

  // alice (admin) and bob (editor) on a team board; alice's browser goes through the proxy.
  async function aliceAndBob(tr, notes = []) {
    const w = await teamBoard(tr, browser, { title: "Outage board", notes });
    // The network errors of a cut are expected in the console.
    tr.allow(/net::ERR_|Failed to load resource|status of 50[234]/);
    return w;
  }

  async function openViaProxy(ctx, boardId) {
    proxy.restore();  // after a failed test
    const page = await ctx.newPage();
    await page.goto(`${proxy.url}#/boards/${boardId}`);
    await page.locator('[data-testid="live-status"][data-state="live"]').waitFor({ timeout: 15000 });
    return page;
  }

  // The page's own outbox (the same module instance as the app's). "later": send without
  // waiting; window.__sent then holds the promise of {version} or {error: status}.
  const obx = (page, op, arg) => page.evaluate(async ([o, a]) => {
    const { outbox } = await import(new URL("js/outbox.js", document.baseURI).href);
    if (o === "send") return outbox.send(a);
    if (o === "later") {
      window.__sent = outbox.send(a).then((r) => ({ version: r && r.version }), (e) => ({ error: e.status }));
      return null;
    }
    if (o === "pending") return outbox.pending(a).map((e) => [e.kind, e.fields.text]);
    return outbox.online;
  }, [op, arg]);

  const bannerShown = (page) => page.evaluate(() => {
    const b = document.querySelector('[data-testid="offline-banner"]');
    return Boolean(b && !b.hidden && b.getBoundingClientRect().height > 0);
  });

  async function itemsOf(ctx, boardId) {
    return (await apiOk(ctx, "GET", `/boards/${boardId}`)).items;
  }

  test("cut: the offline banner shows; back: it goes, and the board is told what changed while away", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const { alice, bob, board, items } = await aliceAndBob(tr, [{ text: "first", x: 40, y: 40 }]);
      const pa = await openViaProxy(alice.ctx, board.id);
      const since = (await apiOk(alice.ctx, "GET", `/boards/${board.id}`)).last_event_id;
      // Listen to the board's live messages beside the board view (same tab, same feed).
      await pa.evaluate(async ([id, s]) => {
        const live = await import(new URL("js/live.js", document.baseURI).href);
        window.__ctl = [];
        live.subscribe(id, s, (m) => { if (m.kind === "control") window.__ctl.push(m); });
      }, [board.id, since]);
      assert.equal(await bannerShown(pa), false);
      const cutAt = Date.now();
      proxy.cut();
      await within(pa, 10 * SECOND, () => {
        const b = document.querySelector('[data-testid="offline-banner"]');
        return b && !b.hidden;
      }, null, "offline banner");
      assert.ok(await bannerShown(pa));
      assert.match(await pa.getByTestId("offline-banner").textContent(), /offline/i);
      await shot(pa, "20-offline-banner");
      // bob works meanwhile
      const n = await apiOk(bob.ctx, "POST", `/boards/${board.id}/items`, { text: "while away", x: 300, y: 40 });
      await apiOk(bob.ctx, "PATCH", `/boards/${board.id}/items/${items[0].id}`, { text: "first, edited" }, { "If-Match": `"${items[0].version}"` });
      await sleep(Math.max(0, 6 * SECOND - (Date.now() - cutAt)));
      proxy.restore();
      await within(pa, 15 * SECOND, () => document.querySelector('[data-testid="offline-banner"]').hidden, null, "banner gone");
      await within(pa, 15 * SECOND, () => (window.__ctl || []).some((m) => m.type === "resumed"), null, "resumed");
      const r = (await pa.evaluate(() => window.__ctl.find((m) => m.type === "resumed"))).data;
      assert.ok(r.awayMs > 5000, `awayMs ${r.awayMs}`);
      assert.equal(r.count, 2);
      assert.deepEqual([...r.itemIds].sort((a, b) => a - b), [items[0].id, n.id].sort((a, b) => a - b));
      assert.deepEqual(r.actors, [bob.name]);
      await within(pa, 5 * SECOND, (i) => !!document.querySelector(`[data-id="${i}"]`), n.id, "bob's note on alice's board");
    });
  });

  test("a short cut (under 5 s) brings no 'resumed' summary", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const { alice, bob, board } = await aliceAndBob(tr);
      const pa = await openViaProxy(alice.ctx, board.id);
      const since = (await apiOk(alice.ctx, "GET", `/boards/${board.id}`)).last_event_id;
      await pa.evaluate(async ([id, s]) => {
        const live = await import(new URL("js/live.js", document.baseURI).href);
        window.__ctl = [];
        live.subscribe(id, s, (m) => { if (m.kind === "control") window.__ctl.push(m); });
      }, [board.id, since]);
      proxy.cut();
      await sleep(SECOND);
      proxy.restore();
      const n = await apiOk(bob.ctx, "POST", `/boards/${board.id}/items`, { text: "after the blip", x: 40, y: 40 });
      await within(pa, 15 * SECOND, (i) => !!document.querySelector(`[data-id="${i}"]`), n.id, "live again");
      await sleep(SECOND);
      assert.deepEqual(await pa.evaluate(() => window.__ctl.map((m) => m.type)), []);
    });
  });

  test("a create made while cut is queued, kept across a reload, and saved exactly once when back", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const { alice, board } = await aliceAndBob(tr);
      const pa = await openViaProxy(alice.ctx, board.id);
      proxy.cut();
      await obx(pa, "later", { boardId: board.id, kind: "create", fields: { text: "typed offline", x: 80, y: 80 }, key: "offline-1" });
      await within(pa, 10 * SECOND, () => !document.querySelector('[data-testid="offline-banner"]').hidden, null, "offline banner");
      assert.deepEqual(await obx(pa, "pending", board.id), [["create", "typed offline"]]);
      assert.equal(await obx(pa, "online"), false);
      // Reload while cut: the page itself cannot load (Chromium shows its error page, which it
      // may reload by itself later: that tab is closed, the board is opened anew once back).
      await pa.reload({ timeout: 10 * SECOND }).catch(() => {});
      await pa.close();
      assert.deepEqual(await itemsOf(alice.ctx, board.id), []);
      proxy.restore();
      const pa2 = await alice.ctx.newPage();
      await pa2.goto(`${proxy.url}#/boards/${board.id}`);
      await waitItems(alice.ctx, board.id, (list) => list.length === 1, "the queued note saved");
      await within(pa2, 10 * SECOND, () => document.querySelector('[data-testid="offline-banner"]').hidden, null, "banner gone");
      await within(pa2, 10 * SECOND, (id) => localStorage.getItem(`teamboard.outbox.${id}`) === null, alice.user.id, "queue emptied");
      await sleep(2 * SECOND);
      const list = await itemsOf(alice.ctx, board.id);
      assert.equal(list.length, 1);
      assert.equal(list[0].text, "typed offline");
    });
  });

  async function waitItems(ctx, boardId, pred, msg) {
    const end = Date.now() + 20 * SECOND;
    let last;
    while (Date.now() < end) {
      last = await itemsOf(ctx, boardId);
      if (pred(last)) return last;
      await sleep(250);
    }
    throw new Error(`${msg} not met (items: ${JSON.stringify(last)})`);
  }

  test("a create whose reply is lost is retried with its Idempotency-Key and makes one note", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const { alice, board } = await aliceAndBob(tr);
      const pa = await openViaProxy(alice.ctx, board.id);
      let lost = 0;
      await pa.route("**/api/v1/boards/*/items", async (route) => {
        if (route.request().method() === "POST" && lost === 0) {
          lost++;
          await route.fetch();              // the server makes the note...
          await route.abort("connectionreset");  // ...and the browser never hears of it
        } else {
          await route.continue();
        }
      });
      const reply = await obx(pa, "send", { boardId: board.id, kind: "create", fields: { text: "once" }, key: "lost-reply-1" });
      assert.equal(lost, 1);
      const list = await itemsOf(alice.ctx, board.id);
      assert.equal(list.length, 1, JSON.stringify(list));
      assert.equal(reply.id, list[0].id);
    });
  });

  test("a 5xx (the REST pool stopped) is retried until the server is back", { skip: !process.env.TB_WEBCTL && "needs TB_WEBCTL (run.sh sets it)" }, async (t) => {
    await withTracker(t, browser, async (tr) => {
      const { alice, board, items } = await aliceAndBob(tr, [{ text: "before", x: 40, y: 40 }]);
      const pa = await openViaProxy(alice.ctx, board.id);
      webctl("stop-api");
      try {
        await obx(pa, "later", { boardId: board.id, itemId: items[0].id, kind: "update", fields: { text: "after the 503" }, version: items[0].version });
        await within(pa, 10 * SECOND, (id) => {
          const b = document.querySelector('[data-testid="offline-banner"]');
          return b && !b.hidden;
        }, null, "banner while the server does not save");
        assert.equal((await obx(pa, "pending", board.id)).length, 1);
      } finally {
        webctl("start-api");
      }
      assert.deepEqual(await pa.evaluate(() => window.__sent), { version: items[0].version + 1 });
      assert.equal((await itemsOf(alice.ctx, board.id))[0].text, "after the 503");
      await within(pa, 10 * SECOND, () => document.querySelector('[data-testid="offline-banner"]').hidden, null, "banner gone");
    });
  });

  test("on the board: typing and moving while cut stay on screen, marked unsaved; back: saved and seen by the other", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const { alice, bob, board, items } = await aliceAndBob(tr, [{ text: "move me", x: 40, y: 40 }, { text: "edit me", x: 300, y: 40 }]);
      const [mv, ed] = items;
      const pa = await openViaProxy(alice.ctx, board.id);
      const pb = await bob.ctx.newPage();
      await pb.goto(`#/boards/${board.id}`);
      await pb.locator('[data-testid="live-status"][data-state="live"]').waitFor({ timeout: 15000 });
      proxy.cut();
      // move
      const box = await note(pa, mv.id).boundingBox();
      await pa.mouse.move(box.x + 40, box.y + 40);
      await pa.mouse.down();
      await pa.mouse.move(box.x + 140, box.y + 140, { steps: 8 });
      await pa.mouse.up();
      // type
      await note(pa, ed.id).dblclick();
      await pa.getByTestId("note-input").fill("typed while cut");
      await pa.keyboard.press("Control+Enter");
      await within(pa, 10 * SECOND, () => !document.querySelector('[data-testid="offline-banner"]').hidden, null, "offline banner");
      await sleep(1500);
      const moved = await noteBox(pa, mv.id);
      assert.equal(moved.x, mv.x + 100);
      assert.equal(moved.y, mv.y + 100);
      assert.equal((await noteBox(pa, ed.id)).text, "typed while cut");
      for (const id of [mv.id, ed.id]) {
        assert.notEqual(await note(pa, id).getAttribute("data-sync"), "saved", `note ${id} shows unsaved`);
      }
      await shot(pa, "21-unsaved-while-cut");
      proxy.restore();
      await within(pa, 20 * SECOND, (ids) => ids.every((i) => document.querySelector(`[data-id="${i}"]`).dataset.sync === "saved"), [mv.id, ed.id], "saved");
      await within(pb, 10 * SECOND, ([m, e]) => document.querySelector(`[data-id="${e}"] [data-testid="note-text"]`).textContent === "typed while cut" &&
        parseInt(document.querySelector(`[data-id="${m}"]`).style.left, 10) === 140, [mv.id, ed.id], "bob sees both");
      assert.equal((await noteBox(pa, mv.id)).x, mv.x + 100);
    });
  });
});
