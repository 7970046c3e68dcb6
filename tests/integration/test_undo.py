"""Undo and redo per person (issue 14, item 3; docs/api.md, "Undo and redo"): POST
/boards/:id/undo reverses the caller's newest note change on the board not undone yet (from any
client), POST /boards/:id/redo the caller's newest undo while no new change of theirs came after;
each is an ordinary change whose event carries "undo_of" / "redo_of"; a note someone else changed
since is 409 conflict with their change and nothing written; nothing to do is 409
nothing_to_undo / nothing_to_redo. A request's notes are one step. The race against a concurrent
editor never loses a write. The authorization matrix has the roles (test_authz_matrix.py)."""

import statistics
import threading
import time

import tbclient as tb
import tbsse as sse
from tbsse import streams  # noqa: F401  (fixture)


def team_board(server, **roles):
    """owner (team admin, the board's creator) and a user per role name given."""
    owner = tb.new_user(server, "uno")
    team = tb.create_team(server, owner)
    users = {}
    for role in roles:
        users[role] = tb.new_user(server, "un" + role[0])
        tb.add_member(server, owner, team["id"], users[role], role)
    board = tb.create_board(server, owner, team_id=team["id"])
    return owner, board, users


def req(server, user, method, path, body=None, token=None):
    return tb.request(server, method, path, body=body, token=token or (user.token if user else None))


def patch(server, user, bid, iid, **fields):
    return tb.assert_status(req(server, user, "PATCH", "/boards/%d/items/%d" % (bid, iid), fields), 200)


def undo(server, user, bid, token=None):
    return req(server, user, "POST", "/boards/%d/undo" % bid, token=token)


def redo(server, user, bid, token=None):
    return req(server, user, "POST", "/boards/%d/redo" % bid, token=token)


def get_item(server, user, bid, iid):
    return req(server, user, "GET", "/boards/%d/items/%d" % (bid, iid))


def last_seq(server, bid):
    return server.sql("SELECT last_seq FROM teamboard.boards WHERE id = %s", (bid,))[0][0]


def events(server, user, bid, after=0):
    return tb.assert_status(req(server, user, "GET", "/boards/%d/events?after=%d" % (bid, after)), 200)["events"]


def test_undo_of_an_update_sets_back_only_its_fields_and_redo_applies_it_again(server):
    owner, board, _ = team_board(server)
    bid = board["id"]
    note = tb.create_item(server, owner, bid, text="a", x=1, y=2)
    patch(server, owner, bid, note["id"], x=10)
    moved = patch(server, owner, bid, note["id"], y=20, text="a")  # text the same: not changed
    seq = last_seq(server, bid)
    ev = events(server, owner, bid, seq - 1)[0]
    assert ev["changed"] == ["y"] and ev["before"] == {"y": 2}, ev
    done = tb.assert_status(undo(server, owner, bid), 200)
    assert done["undone"] == [seq] and len(done["events"]) == 1, done
    back = done["events"][0]
    assert back["type"] == "item.updated" and back["undo_of"] == seq and back["changed"] == ["y"], back
    assert back["actor"] == {"id": owner.id, "name": owner.name, "display_name": owner.name} and back["seq"] == seq + 1
    item = tb.assert_status(get_item(server, owner, bid, note["id"]), 200)
    assert (item["x"], item["y"], item["text"], item["version"]) == (10, 2, "a", moved["version"] + 1)
    assert back["item"] == item
    # The event in the log is the reply's.
    assert events(server, owner, bid, seq) == done["events"]
    again = tb.assert_status(redo(server, owner, bid), 200)
    assert again["redone"] == [seq + 1], again
    ev = again["events"][0]
    assert ev["redo_of"] == seq + 1 and "undo_of" not in ev and ev["item"]["y"] == 20, ev
    # The redo is undoable again, and so on: undo, undo (x back too), nothing more to undo but the create.
    assert tb.assert_status(undo(server, owner, bid), 200)["undone"] == [seq + 2]
    assert tb.assert_status(undo(server, owner, bid), 200)["events"][0]["item"]["x"] == 1
    item = tb.assert_status(get_item(server, owner, bid, note["id"]), 200)
    assert (item["x"], item["y"]) == (1, 2)


def test_undo_of_a_create_deletes_and_redo_restores(server):
    owner, board, _ = team_board(server)
    bid = board["id"]
    note = tb.create_item(server, owner, bid, text="oops")
    done = tb.assert_status(undo(server, owner, bid), 200)
    ev = done["events"][0]
    assert ev["type"] == "item.deleted" and ev["item"]["id"] == note["id"] and ev["undo_of"] == done["undone"][0]
    tb.assert_error(get_item(server, owner, bid, note["id"]), 404, "not_found")
    trash = tb.assert_status(req(server, owner, "GET", "/boards/%d/trash" % bid), 200)["trash"]
    assert [t["item"]["id"] for t in trash] == [note["id"]]
    again = tb.assert_status(redo(server, owner, bid), 200)
    ev = again["events"][0]
    assert ev["type"] == "item.created" and ev["restored"] is True and ev["redo_of"] == ev["seq"] - 1, ev
    item = tb.assert_status(get_item(server, owner, bid, note["id"]), 200)
    assert item["text"] == "oops" and item["version"] == note["version"] + 2 and ev["item"] == item
    tb.assert_error(redo(server, owner, bid), 409, "nothing_to_redo")


def test_undo_of_a_delete_brings_the_note_back_live_for_another_user(server, streams):
    owner, board, u = team_board(server, viewer=1)
    bid = board["id"]
    note = tb.create_item(server, owner, bid, text="keep", z=3)
    tb.assert_status(req(server, owner, "DELETE", "/boards/%d/items/%d" % (bid, note["id"])), 204)
    watcher = streams.open(bid, u["viewer"])
    done = tb.assert_status(undo(server, owner, bid), 200)
    ev = watcher.wait_type("item.created", timeout=10)
    assert ev.json["restored"] is True and ev.json["undo_of"] == done["undone"][0], ev
    assert ev.json == done["events"][0]
    item = tb.assert_status(get_item(server, owner, bid, note["id"]), 200)
    assert (item["id"], item["text"], item["z"]) == (note["id"], "keep", 3) and ev.json["item"] == item
    assert tb.assert_status(req(server, owner, "GET", "/boards/%d/trash" % bid), 200)["trash"] == []


def test_someone_elses_change_since_is_409_with_it_and_nothing_is_written(server):
    owner, board, u = team_board(server, editor=1)
    bid, bob = board["id"], u["editor"]
    note = tb.create_item(server, owner, bid, text="a")
    patch(server, owner, bid, note["id"], x=5)
    patch(server, bob, bid, note["id"], color="#112233")
    before = (last_seq(server, bid), tb.assert_status(get_item(server, owner, bid, note["id"]), 200))
    resp = undo(server, owner, bid)
    tb.assert_error(resp, 409, "conflict")
    other = tb.assert_json(resp)["event"]
    assert other["type"] == "item.updated" and other["actor"] == {"id": bob.id, "name": bob.name, "display_name": bob.name}, other
    assert other["seq"] == before[0] and other["item"]["color"] == "#112233"
    assert (last_seq(server, bid), tb.assert_status(get_item(server, owner, bid, note["id"]), 200)) == before
    # Per person: Bob's undo takes back Bob's change only, never the owner's.
    mine = tb.assert_status(undo(server, bob, bid), 200)
    assert mine["events"][0]["item"]["color"] == "#fff59d" and mine["events"][0]["item"]["x"] == 5
    tb.assert_error(undo(server, bob, bid), 409, "nothing_to_undo")
    # The owner's change of another note is still theirs to undo (the conflict blocks only that note).
    other_note = tb.create_item(server, owner, bid)
    assert tb.assert_status(undo(server, owner, bid), 200)["events"][0]["item"]["id"] == other_note["id"]


def test_a_new_change_clears_the_redo_stack(server):
    owner, board, _ = team_board(server)
    bid = board["id"]
    note = tb.create_item(server, owner, bid)
    patch(server, owner, bid, note["id"], x=1)
    tb.assert_status(undo(server, owner, bid), 200)
    patch(server, owner, bid, note["id"], y=7)
    tb.assert_error(redo(server, owner, bid), 409, "nothing_to_redo")
    # Undo now takes the new change, then the create (the undone x=1 stays undone).
    assert tb.assert_status(undo(server, owner, bid), 200)["events"][0]["before"] == {"y": 7}
    assert tb.assert_status(undo(server, owner, bid), 200)["events"][0]["type"] == "item.deleted"
    tb.assert_error(undo(server, owner, bid), 409, "nothing_to_undo")


def test_nothing_to_undo_or_redo(server):
    owner, board, u = team_board(server, editor=1)
    bid = board["id"]
    tb.assert_error(undo(server, owner, bid), 409, "nothing_to_undo")
    tb.assert_error(redo(server, owner, bid), 409, "nothing_to_redo")
    tb.create_item(server, u["editor"], bid)            # someone else's change is not the owner's
    tb.assert_status(req(server, owner, "PATCH", "/boards/%d" % bid, {"title": "renamed"}), 200)
    tb.assert_error(undo(server, owner, bid), 409, "nothing_to_undo")  # a rename is not undone
    other = tb.create_board(server, owner)["id"]
    tb.create_item(server, owner, other)                 # nor a change on another board
    tb.assert_error(undo(server, owner, bid), 409, "nothing_to_undo")


def test_undo_from_another_client_of_the_same_user(server):
    owner, board, _ = team_board(server)
    bid = board["id"]
    second, _ = tb.login(server, owner.name, owner.password)
    note = tb.create_item(server, owner, bid, text="from the laptop")
    done = tb.assert_status(undo(server, owner, bid, token=second["token"]), 200)
    assert done["events"][0]["item"]["id"] == note["id"]
    tb.assert_status(redo(server, owner, bid), 200)     # and redone from the first
    tb.assert_status(get_item(server, owner, bid, note["id"]), 200)


def test_statuses(server):
    owner, board, u = team_board(server, viewer=1, editor=1)
    stranger = tb.new_user(server, "uns")
    bid = board["id"]
    note = tb.create_item(server, u["editor"], bid)
    seq = last_seq(server, bid)
    for path in ("/boards/%d/undo", "/boards/%d/redo"):
        tb.assert_error(req(server, None, "POST", path % bid), 401, "unauthorized")
        tb.assert_error(req(server, stranger, "POST", path % bid), 404, "not_found")
        tb.assert_error(req(server, u["viewer"], "POST", path % bid), 403, "forbidden")
        tb.assert_error(req(server, owner, "POST", path % 999999999), 404, "not_found")
        tb.assert_error(req(server, owner, "POST", (path % bid).replace(str(bid), "0")), 404, "not_found")
        # GET /boards/:id/undo is the undo state (test_undo_state_...); redo has no GET.
        resp = req(server, owner, "PUT" if "undo" in path else "GET", path % bid)
        tb.assert_error(resp, 405, "method_not_allowed")
        assert resp.header("Allow") == ("GET, POST" if "undo" in path else "POST")
    assert last_seq(server, bid) == seq
    # A body is not read; a board in the trash is 404.
    tb.assert_status(req(server, u["editor"], "POST", "/boards/%d/undo" % bid, {"ignored": 1}), 200)
    tb.assert_error(get_item(server, owner, bid, note["id"]), 404, "not_found")
    tb.assert_status(req(server, owner, "DELETE", "/boards/%d" % bid), 204)
    tb.assert_error(redo(server, u["editor"], bid), 404, "not_found")


def test_one_step_of_several_notes_is_undone_together(server):
    """A request that changes several notes (a batch, once there is one; here one SQL statement
    as its actor) is one step: one undo takes back all of it, in one transaction."""
    owner, board, _ = team_board(server)
    bid = board["id"]
    a = tb.create_item(server, owner, bid, x=1)
    b = tb.create_item(server, owner, bid, x=2)
    server.sql("WITH actor AS MATERIALIZED (SELECT set_config('teamboard.actor_id', %s::text, true),"
               "                                   set_config('search_path', 'teamboard', true))"
               " UPDATE teamboard.items SET x = x + 100, version = version + 1 FROM actor WHERE id IN (%s, %s)",
               (owner.id, a["id"], b["id"]))
    seq = last_seq(server, bid)
    done = tb.assert_status(undo(server, owner, bid), 200)
    assert done["undone"] == [seq - 1, seq] and len(done["events"]) == 2, done
    assert sorted((e["item"]["id"], e["item"]["x"]) for e in done["events"]) == [(a["id"], 1), (b["id"], 2)]
    again = tb.assert_status(redo(server, owner, bid), 200)
    assert again["redone"] == [seq + 1, seq + 2]
    assert sorted(e["item"]["x"] for e in again["events"]) == [101, 102]


def test_undo_of_a_delete_whose_note_was_purged_is_410(server):
    owner, board, _ = team_board(server)
    bid = board["id"]
    note = tb.create_item(server, owner, bid)
    tb.assert_status(req(server, owner, "DELETE", "/boards/%d/items/%d" % (bid, note["id"])), 204)
    server.sql("UPDATE teamboard.items_trash SET deleted_at = now() - interval '31 days' WHERE item_id = %s",
               (note["id"],))
    assert server.supervisor_once().returncode == 0
    seq = last_seq(server, bid)
    tb.assert_error(undo(server, owner, bid), 410, "gone")
    assert last_seq(server, bid) == seq


def test_undo_against_a_concurrent_editor_never_loses_a_write(server):
    """Bob rewrites the note's text while the owner undoes their own text change: the undo either
    wins cleanly (no change of Bob's between the undone change and the undo, and Bob's later
    writes apply on top) or is 409 conflict; the note always ends as the log's last event says."""
    owner, board, u = team_board(server, editor=1)
    bid, bob = board["id"], u["editor"]
    outcomes = []
    for rnd in range(4):
        note = tb.create_item(server, bob, bid, text="start")
        patch(server, owner, bid, note["id"], text="owner %d" % rnd)
        bob_status = []
        start = threading.Barrier(2)

        def bob_writes():
            start.wait(10)
            time.sleep(0.004 if rnd % 2 == 0 else 0)  # even rounds: the undo most likely first
            for i in range(6):
                r = req(server, bob, "PATCH", "/boards/%d/items/%d" % (bid, note["id"]), {"text": "bob %d" % i})
                bob_status.append(r.status)

        t = threading.Thread(target=bob_writes)
        t.start()
        start.wait(10)
        time.sleep(0 if rnd % 2 == 0 else 0.004)
        resp = undo(server, owner, bid)
        t.join(30)
        assert not t.is_alive() and bob_status == [200] * 6, bob_status
        assert resp.status in (200, 409), resp
        outcomes.append(resp.status)
        log = server.sql("SELECT seq, actor_id, undo_of, payload -> 'item' FROM teamboard.board_events"
                         " WHERE board_id = %s AND item_id = %s ORDER BY seq", (bid, note["id"]))
        if resp.status == 200:
            (useq, _, undone, _), = [r for r in log if r[2] is not None]
            assert not [r for r in log if undone < r[0] < useq and r[1] == bob.id], log
        else:
            tb.assert_error(resp, 409, "conflict")
            assert all(r[2] is None for r in log)
        item = tb.assert_status(get_item(server, owner, bid, note["id"]), 200)
        assert item == log[-1][3] and item["text"] == "bob 5"
        # (The next round's change is the owner's newest: it is what their next undo takes.)
    print("undo against a concurrent editor:", outcomes)


def test_undo_costs_no_more_than_a_patch(server):
    """The latency of an undo against the PATCH it replaces: ten PATCHes each followed by the undo
    of it, then ten undos in a row of ten PATCHes (a deeper stack); medians over HTTP (printed; a
    generous bound, timing is noisy on a shared machine)."""
    owner, board, _ = team_board(server)
    bid = board["id"]
    note = tb.create_item(server, owner, bid)

    def timed(fn):
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    patches, undos, deep = [], [], []
    for i in range(10):
        patches.append(timed(lambda: patch(server, owner, bid, note["id"], x=i + 1)))
        undos.append(timed(lambda: tb.assert_status(undo(server, owner, bid), 200)))
    for i in range(10):
        patch(server, owner, bid, note["id"], y=i + 1)
    for _ in range(10):
        deep.append(timed(lambda: tb.assert_status(undo(server, owner, bid), 200)))
    p, q, d = statistics.median(patches), statistics.median(undos), statistics.median(deep)
    print("PATCH median %.2f ms, undo median %.2f ms (ratio %.2f), ten in a row %.2f ms (ratio %.2f)"
          % (p * 1e3, q * 1e3, q / p, d * 1e3, d / p))
    item = tb.assert_status(get_item(server, owner, bid, note["id"]), 200)
    assert (item["x"], item["y"]) == (0, 0), item
    assert q <= 3 * p + 0.005 and d <= 3 * p + 0.005, (p, q, d)


def test_two_undos_of_one_person_at_once_take_two_steps_or_one_is_409(server):
    """Two clients of one person press undo at the same moment: each change is undone at most
    once; the second takes the next step, or answers 409 conflict (retry)."""
    owner, board, _ = team_board(server)
    bid = board["id"]
    second, _ = tb.login(server, owner.name, owner.password)
    for rnd in range(3):
        a = tb.create_item(server, owner, bid, x=rnd)
        patch(server, owner, bid, a["id"], x=100 + rnd)
        start, got = threading.Barrier(2), []

        def press(token):
            start.wait(10)
            got.append(undo(server, owner, bid, token=token))

        threads = [threading.Thread(target=press, args=(t,)) for t in (owner.token, second["token"])]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        statuses = sorted(r.status for r in got)
        assert statuses in ([200, 200], [200, 409]), got
        undone = [s for r in got if r.status == 200 for s in tb.assert_json(r)["undone"]]
        assert len(undone) == len(set(undone)), got
        if statuses == [200, 200]:  # the patch, then the create: the note is in the trash
            tb.assert_error(get_item(server, owner, bid, a["id"]), 404, "not_found")
        else:
            tb.assert_error([r for r in got if r.status == 409][0], 409, "conflict")
            assert tb.assert_status(get_item(server, owner, bid, a["id"]), 200)["x"] == rnd


def undo_state(server, user, bid):
    return tb.assert_status(req(server, user, "GET", "/boards/%d/undo" % bid), 200)


def test_undo_state_says_what_undo_and_redo_would_find(server):
    """GET /boards/:id/undo: a board just opened knows whether to offer Undo and Redo (the
    caller's own steps, made from any client); a viewer never can; a stranger gets 404."""
    owner, board, users = team_board(server, viewer=1, editor=1)
    bid = board["id"]
    assert undo_state(server, owner, bid) == {"can_undo": False, "can_redo": False}
    note = tb.create_item(server, users["editor"], bid, text="mine")
    assert undo_state(server, users["editor"], bid) == {"can_undo": True, "can_redo": False}
    assert undo_state(server, owner, bid) == {"can_undo": False, "can_redo": False}  # not theirs
    tb.assert_status(undo(server, users["editor"], bid), 200)
    assert undo_state(server, users["editor"], bid) == {"can_undo": False, "can_redo": True}
    tb.assert_status(redo(server, users["editor"], bid), 200)
    assert undo_state(server, users["editor"], bid) == {"can_undo": True, "can_redo": False}
    patch(server, users["editor"], bid, note["id"], x=40)
    assert undo_state(server, users["viewer"], bid) == {"can_undo": False, "can_redo": False}
    tb.assert_error(req(server, tb.new_user(server, "unx"), "GET", "/boards/%d/undo" % bid), 404, "not_found")
    tb.assert_error(req(server, None, "GET", "/boards/%d/undo" % bid), 401, "unauthorized")
