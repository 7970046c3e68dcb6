"""Restore this version and since your last visit (issue 14, item 4; docs/api.md,
"POST /boards/:id/history/restore", "GET /boards/:id/visit").

POST /boards/:id/history/restore {"seq": N} brings the board's notes back to their state after
event N in one transaction: notes created since are deleted (to the trash), notes deleted since come
back with their id and their fields at N, changed notes get their fields at N back. Every change is
an ordinary event, live for everyone, and the whole restore is one undo step of the caller. Bad
seq values have exact statuses; a change that commits while the restore waits is restored over, a
note created meanwhile makes it 409 with nothing written. GET/POST /boards/:id/visit keep the last seq the caller's browser
reported having shown (it only grows; one past the board's last event is taken as the last). The roles are in test_authz_matrix.py."""

import threading

import tbclient as tb
from tbsse import streams  # noqa: F401  (fixture)


def team_board(server, **roles):
    owner = tb.new_user(server, "hro")
    team = tb.create_team(server, owner)
    users = {}
    for role in roles:
        users[role] = tb.new_user(server, "hr" + role[0])
        tb.add_member(server, owner, team["id"], users[role], role)
    return owner, tb.create_board(server, owner, team_id=team["id"]), users


def req(server, user, method, path, body=None):
    return tb.request(server, method, path, body=body, token=user.token if user else None)


def restore(server, user, bid, body):
    return req(server, user, "POST", "/boards/%d/history/restore" % bid, body)


def notes(server, user, bid):
    """{id: (text, color, x, y, width, height, z)} of the board now."""
    doc = tb.assert_status(req(server, user, "GET", "/boards/%d" % bid), 200)
    return {i["id"]: (i["text"], i["color"], i["x"], i["y"], i["width"], i["height"], i["z"]) for i in doc["items"]}


def notes_at(server, user, bid, seq):
    doc = tb.assert_status(req(server, user, "GET", "/boards/%d/history?seq=%d" % (bid, seq)), 200)
    return {i["id"]: (i["text"], i["color"], i["x"], i["y"], i["width"], i["height"], i["z"]) for i in doc["items"]}


def last_seq(server, bid):
    return server.sql("SELECT last_seq FROM teamboard.boards WHERE id = %s", (bid,))[0][0]


def shaped(server, owner, bid):
    """A board with each kind of change after a point N: returns (N, kept, changed, deleted, created)."""
    kept = tb.create_item(server, owner, bid, text="kept")
    changed = tb.create_item(server, owner, bid, text="before", x=1, y=2, z=4)
    deleted = tb.create_item(server, owner, bid, text="deleted later", color="#aabbcc")
    n = last_seq(server, bid)
    tb.assert_status(req(server, owner, "PATCH", "/boards/%d/items/%d" % (bid, changed["id"]),
                         {"text": "after", "x": 50, "z": 9}), 200)
    tb.assert_status(req(server, owner, "PATCH", "/boards/%d/items/%d" % (bid, deleted["id"]), {"y": 77}), 200)
    tb.assert_status(req(server, owner, "DELETE", "/boards/%d/items/%d" % (bid, deleted["id"])), 204)
    created = tb.create_item(server, owner, bid, text="created later")
    return n, kept, changed, deleted, created


def test_restore_brings_the_notes_back_live_for_another_user_and_undo_brings_the_later_state_back(server, streams):
    owner, board, u = team_board(server, editor=1, viewer=1)
    bid, alice = board["id"], u["editor"]
    n, kept, changed, deleted, created = shaped(server, owner, bid)
    later, later_seq = notes(server, owner, bid), last_seq(server, bid)
    watcher = streams.open(bid, u["viewer"])
    done = tb.assert_status(restore(server, alice, bid, {"seq": n}), 200)
    assert done["restored"] == n, done
    # The notes are as they were at N, the deleted one with its id and its fields then.
    assert notes(server, owner, bid) == notes_at(server, owner, bid, n)
    assert set(notes(server, owner, bid)) == {kept["id"], changed["id"], deleted["id"]}
    # One event per changed note, in one transaction (one step), each by the caller, in seq order.
    evs = done["events"]
    assert [e["seq"] for e in evs] == list(range(later_seq + 1, later_seq + 4)), evs
    assert {(e["type"], e["item"]["id"]) for e in evs} == {
        ("item.deleted", created["id"]), ("item.created", deleted["id"]), ("item.updated", changed["id"])}
    assert all(e["actor"]["id"] == alice.id and e["actor"]["name"] == alice.name for e in evs)
    back = next(e for e in evs if e["type"] == "item.created")
    assert back["restored"] is True and back["item"]["y"] != 77 and back["item"]["color"] == "#aabbcc", back
    upd = next(e for e in evs if e["type"] == "item.updated")
    assert sorted(upd["changed"]) == ["text", "x", "z"] and upd["before"] == {"text": "after", "x": 50, "z": 9}
    steps = server.sql("SELECT count(DISTINCT step) FROM teamboard.board_events WHERE board_id = %s AND seq > %s",
                       (bid, later_seq))
    assert steps == [(1,)], steps
    # The second user's stream sees every change, as the reply gives it.
    watcher.wait_seq(later_seq + 3, timeout=10)
    assert [e.json for e in watcher.events if e.type.startswith("item.")][-3:] == evs
    # The trash no longer holds the restored note, and holds the deleted one.
    trash = tb.assert_status(req(server, owner, "GET", "/boards/%d/trash" % bid), 200)["trash"]
    assert [t["item"]["id"] for t in trash] == [created["id"]]
    # One undo takes the whole restore back: the later state returns, live too.
    undone = tb.assert_status(req(server, alice, "POST", "/boards/%d/undo" % bid), 200)
    assert sorted(undone["undone"]) == [e["seq"] for e in evs], undone
    assert notes(server, owner, bid) == later
    watcher.wait_seq(later_seq + 6, timeout=10)
    # And a redo the restore again.
    tb.assert_status(req(server, alice, "POST", "/boards/%d/redo" % bid), 200)
    assert notes(server, owner, bid) == notes_at(server, owner, bid, n)


def test_restore_of_the_current_state_writes_nothing_and_seq_0_empties_the_board(server):
    owner, board, _ = team_board(server)
    bid = board["id"]
    a = tb.create_item(server, owner, bid, text="a")
    now = last_seq(server, bid)
    assert tb.assert_status(restore(server, owner, bid, {"seq": now}), 200) == {"restored": now, "events": []}
    assert last_seq(server, bid) == now
    done = tb.assert_status(restore(server, owner, bid, {"seq": 0}), 200)
    assert [(e["type"], e["item"]["id"]) for e in done["events"]] == [("item.deleted", a["id"])]
    assert notes(server, owner, bid) == {}


def test_restore_bad_seq_values_have_exact_statuses_and_write_nothing(server):
    owner, board, _ = team_board(server)
    bid = board["id"]
    tb.create_item(server, owner, bid, text="a")
    now = last_seq(server, bid)
    for body in ({}, {"seq": -1}, {"seq": "1"}, {"seq": 1.5}, {"seq": None}, {"seq": 1, "x": 2}, []):
        tb.assert_error(restore(server, owner, bid, body), 422, "invalid")
    resp = restore(server, owner, bid, {"seq": now + 1})
    tb.assert_error(resp, 400, "bad_request")
    assert tb.assert_json(resp)["last_event_id"] == now
    tb.assert_error(tb.request(server, "POST", "/boards/%d/history/restore" % bid, raw=b"{",
                               headers={"Content-Type": "application/json"}, token=owner.token), 400, "bad_json")
    tb.assert_error(restore(server, owner, bid + 1000000, {"seq": 0}), 404, "not_found")
    tb.assert_error(req(server, owner, "GET", "/boards/%d/history/restore" % bid), 405, "method_not_allowed")
    # A log pruned at its start: the state at N is not known.
    server.sql("DELETE FROM teamboard.board_events WHERE board_id = %s AND seq = 1", (bid,))
    resp = restore(server, owner, bid, {"seq": now})
    tb.assert_error(resp, 410, "reset")
    assert tb.assert_json(resp)["last_event_id"] == now
    assert last_seq(server, bid) == now


def test_restore_of_a_note_purged_from_the_trash_is_410_and_writes_nothing(server):
    owner, board, _ = team_board(server)
    bid = board["id"]
    a = tb.create_item(server, owner, bid, text="a")
    n = last_seq(server, bid)
    tb.assert_status(req(server, owner, "DELETE", "/boards/%d/items/%d" % (bid, a["id"])), 204)
    tb.create_item(server, owner, bid, text="b")
    server.sql("UPDATE teamboard.items_trash SET item = NULL, purged_at = now() WHERE item_id = %s", (a["id"],))
    before = (last_seq(server, bid), notes(server, owner, bid))
    tb.assert_error(restore(server, owner, bid, {"seq": n}), 410, "gone")
    assert (last_seq(server, bid), notes(server, owner, bid)) == before


def test_undo_of_a_restore_is_409_when_someone_changed_a_note_since(server):
    owner, board, u = team_board(server, editor=1)
    bid, bob = board["id"], u["editor"]
    n, kept, changed, deleted, created = shaped(server, owner, bid)
    tb.assert_status(restore(server, owner, bid, {"seq": n}), 200)
    tb.assert_status(req(server, bob, "PATCH", "/boards/%d/items/%d" % (bid, changed["id"]), {"x": 3}), 200)
    before = (last_seq(server, bid), notes(server, owner, bid))
    tb.assert_error(req(server, owner, "POST", "/boards/%d/undo" % bid), 409, "conflict")
    assert (last_seq(server, bid), notes(server, owner, bid)) == before


def test_visit_keeps_the_last_seq_reported_and_only_raises_it(server):
    owner, board, u = team_board(server, viewer=1)
    bid, viewer = board["id"], u["viewer"]
    for _ in range(3):
        tb.create_item(server, owner, bid)
    path = "/boards/%d/visit" % bid
    first = tb.assert_status(req(server, viewer, "GET", path), 200)
    assert first == {"seq": 0, "seen_at": None, "last_event_id": 3}, first
    got = tb.assert_status(req(server, viewer, "POST", path, {"seq": 2}), 200)
    assert got["seq"] == 2 and got["last_event_id"] == 3 and tb.parse_time(got["seen_at"]), got
    assert tb.assert_status(req(server, viewer, "POST", path, {"seq": 1}), 200)["seq"] == 2
    assert tb.assert_status(req(server, viewer, "GET", path), 200) == got
    # Per user: the owner has seen nothing yet.
    assert tb.assert_status(req(server, owner, "GET", path), 200)["seq"] == 0
    # Past the board's last event (a resume point from before a database restore): the last.
    assert tb.assert_status(req(server, owner, "POST", path, {"seq": 4}), 200)["seq"] == 3
    for body in ({}, {"seq": -1}, {"seq": "2"}, {"seq": 2, "y": 1}):
        tb.assert_error(req(server, viewer, "POST", path, body), 422, "invalid")
    assert tb.assert_status(req(server, viewer, "GET", path), 200)["seq"] == 2
    # A report logs no event: it is the caller's bookmark, not a change of the board.
    assert tb.assert_status(req(server, viewer, "POST", path, {"seq": 3}), 200)["seq"] == 3
    assert last_seq(server, bid) == 3
    stranger = tb.new_user(server, "hrs")
    tb.assert_error(req(server, stranger, "GET", path), 404, "not_found")
    tb.assert_error(req(server, stranger, "POST", path, {"seq": 0}), 404, "not_found")
    assert server.sql("SELECT count(*) FROM teamboard.board_visits WHERE user_id = %s", (stranger.id,)) == [(0,)]


def blocked_on_lock(server, pattern):
    return server.sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                      " AND query LIKE %s", ("%" + pattern + "%",))[0][0] > 0


def restore_while(server, user, bid, seq, sql, params):
    """Runs sql in a transaction, then the restore (in a thread) until it waits for that
    transaction's lock, then commits: returns the restore's response."""
    conn = server.connect()
    try:
        conn.autocommit = False
        with conn.cursor() as cur:
            cur.execute("SET LOCAL search_path TO teamboard")
            cur.execute(sql, params)
        out = {}
        th = threading.Thread(target=lambda: out.update(resp=restore(server, user, bid, {"seq": seq})))
        th.start()
        tb.wait_for(lambda: blocked_on_lock(server, "board_restore_version"), timeout=10)
        conn.commit()
        th.join(20)
        assert not th.is_alive()
        return out["resp"]
    finally:
        conn.close()


def test_a_change_that_commits_while_the_restore_waits_is_restored_over_never_lost_unseen(server):
    owner, board, _ = team_board(server)
    bid = board["id"]
    n, kept, changed, deleted, created = shaped(server, owner, bid)
    # Another writer holds the note's row: the restore waits, then sees its change and sets it back.
    resp = restore_while(server, owner, bid, n, "UPDATE teamboard.items SET x = 999, version = version + 1 WHERE id = %s",
                         (changed["id"],))
    done = tb.assert_status(resp, 200)
    upd = next(e for e in done["events"] if e["type"] == "item.updated")
    assert upd["before"]["x"] == 999 and upd["item"]["x"] == 1, upd
    assert notes(server, owner, bid) == notes_at(server, owner, bid, n)


def test_a_note_created_while_the_restore_takes_its_locks_is_409_and_nothing_is_written(server):
    owner, board, _ = team_board(server)
    bid = board["id"]
    n, kept, changed, deleted, created = shaped(server, owner, bid)
    # The insert holds the board row (its event's seq) until it commits; the restore, waiting for
    # it, then finds a note it did not lock: 409, retry.
    resp = restore_while(server, owner, bid, n, "INSERT INTO teamboard.items (board_id, text) VALUES (%s, 'racer')", (bid,))
    tb.assert_error(resp, 409, "conflict")
    before = (last_seq(server, bid), notes(server, owner, bid))
    assert "racer" in [v[0] for v in before[1].values()]
    again = tb.assert_status(restore(server, owner, bid, {"seq": n}), 200)
    assert len(again["events"]) == 4 and notes(server, owner, bid) == notes_at(server, owner, bid, n)




def test_a_restore_of_more_than_5000_note_changes_is_409_too_many_changes_and_writes_nothing(server):
    """The limit of docs/api.md: 5001 notes on the board that were not there at N would be 5001
    deletions: the restore is refused whole, before it writes. (The notes are put in SQL without
    logging them, as an import writes its notes: 5001 logged changes would take seconds. Restores
    under the limit: the tests above.)"""
    owner = tb.new_user(server, "hrl")
    bid = tb.create_board(server, owner)["id"]
    kept = tb.create_item(server, owner, bid, text="kept")
    n = last_seq(server, bid)
    server.sql("SET search_path = teamboard; SELECT set_config('teamboard.importing', %s::text, false);"
               " INSERT INTO items (board_id, text, author_id) SELECT %s, 'n' || g, %s FROM generate_series(1, 5001) g;"
               " SELECT set_config('teamboard.importing', '', false); RESET search_path", (bid, bid, owner.id))
    assert server.sql("SELECT count(*) FROM teamboard.items WHERE board_id = %s", (bid,))[0][0] == 5002
    refused = restore(server, owner, bid, {"seq": n})
    tb.assert_error(refused, 409, "too_many_changes")
    assert tb.assert_json(refused)["max_changes"] == 5000  # the limit, from board_restore_version
    assert last_seq(server, bid) == n
    assert server.sql("SELECT count(*) FROM teamboard.items WHERE board_id = %s", (bid,))[0][0] == 5002
    assert kept["id"] in notes(server, owner, bid)
