"""The trash (issue 14, items 1 and 2; docs/api.md, "Trash"): a deleted note goes to its board's
trash and item.deleted carries it whole; GET /boards/:id/trash lists it; POST
/boards/:id/items/:item_id/restore brings it back with its id, live on every open stream as
item.created with "restored": true; a deleted board goes to the trash with its notes and its log,
invisible everywhere, listed by GET /trash for those who may restore it; POST /boards/:id/restore
brings it back with its history, and a stream resumes across it with Last-Event-ID; the supervisor
purges both after trash_days, and a restore then answers 410, while the log of a live board is
kept whatever its age (event_retention_days = 0). Every status of the four routes and
their bad input. The authorization matrix has the roles (test_authz_matrix.py)."""

import threading
import time

import tbclient as tb
import tbsse as sse
from tbsse import streams  # noqa: F401  (fixture)


def team_board(server, **roles):
    """owner (team admin, the board's creator) and a user per role name given (role -> prefix)."""
    owner = tb.new_user(server, "tro")
    team = tb.create_team(server, owner)
    users = {}
    for role in roles:
        users[role] = tb.new_user(server, "tr" + role[0])
        tb.add_member(server, owner, team["id"], users[role], role)
    board = tb.create_board(server, owner, team_id=team["id"])
    return owner, board, users


def req(server, user, method, path, body=None, **kw):
    return tb.request(server, method, path, body=body, token=user.token if user else None, **kw)


def delete_note(server, user, bid, iid):
    tb.assert_status(req(server, user, "DELETE", "/boards/%d/items/%d" % (bid, iid)), 204)


def restore_note(server, user, bid, iid):
    return req(server, user, "POST", "/boards/%d/items/%d/restore" % (bid, iid))


def backdate_and_purge(server, board_id=None, item_id=None):
    """Makes the board or note 31 days old in the trash (trash_days is 30) and runs one
    supervisor cycle."""
    if board_id:
        server.sql("UPDATE teamboard.boards SET deleted_at = now() - interval '31 days' WHERE id = %s",
                   (board_id,))
    if item_id:
        server.sql("UPDATE teamboard.items_trash SET deleted_at = now() - interval '31 days'"
                   " WHERE item_id = %s", (item_id,))
    done = server.supervisor_once()
    assert done.returncode == 0, done
    return server.sql("SELECT report FROM teamboard.supervisor_status")[0][0]


# ---- notes ------------------------------------------------------------------------------------

def test_a_deleted_note_is_in_the_trash_and_its_event_carries_it(server):
    owner, board, u = team_board(server, editor=1, viewer=1)
    bid = board["id"]
    note = tb.create_item(server, owner, bid, text="keep me", x=5)
    changed = tb.assert_status(req(server, u["editor"], "PATCH", "/boards/%d/items/%d" % (bid, note["id"]),
                                   {"color": "#AABBCC"}), 200)
    delete_note(server, u["editor"], bid, note["id"])
    # The event: the whole note as it was, with the deletion's version.
    events = tb.assert_status(req(server, owner, "GET", "/boards/%d/events" % bid), 200)["events"]
    assert events[-1]["type"] == "item.deleted"
    assert events[-1]["item"] == dict(changed, version=changed["version"] + 1), events[-1]
    # Gone from the board, in its trash (a viewer may look).
    tb.assert_error(req(server, owner, "GET", "/boards/%d/items/%d" % (bid, note["id"])), 404, "not_found")
    assert tb.assert_status(req(server, owner, "GET", "/boards/%d" % bid), 200)["items"] == []
    trash = tb.assert_status(req(server, u["viewer"], "GET", "/boards/%d/trash" % bid), 200)
    assert trash["more"] is False and len(trash["trash"]) == 1, trash
    entry = trash["trash"][0]
    assert entry["item"] == changed, entry
    assert entry["deleted_by"] == {"id": u["editor"].id, "name": u["editor"].name, "display_name": u["editor"].name}, entry
    tb.parse_time(entry["deleted_at"])


def test_the_trash_lists_newest_first_and_at_most_100(server):
    owner = tb.new_user(server, "trl")
    bid = tb.create_board(server, owner)["id"]
    notes = [tb.create_item(server, owner, bid, text="n%d" % i) for i in range(3)]
    for n in (notes[1], notes[0], notes[2]):
        delete_note(server, owner, bid, n["id"])
    trash = tb.assert_status(req(server, owner, "GET", "/boards/%d/trash" % bid), 200)
    assert [e["item"]["id"] for e in trash["trash"]] == [notes[2]["id"], notes[0]["id"], notes[1]["id"]]
    assert trash["more"] is False
    # 100 more, older, written straight into the trash: the newest 100 come, and "more".
    server.sql("INSERT INTO teamboard.items_trash (item_id, board_id, item, deleted_by, deleted_at)"
               " SELECT -g, %s, '{}'::jsonb, %s, now() - make_interval(secs => g) FROM generate_series(1, 100) g",
               (bid, owner.id))
    trash = tb.assert_status(req(server, owner, "GET", "/boards/%d/trash" % bid), 200)
    assert len(trash["trash"]) == 100 and trash["more"] is True
    assert [e["item"]["id"] for e in trash["trash"][:3]] == [notes[2]["id"], notes[0]["id"], notes[1]["id"]]


def test_restore_reaches_a_streaming_viewer_as_item_created(server, streams):
    owner, board, u = team_board(server, editor=1, viewer=1)
    bid = board["id"]
    note = tb.create_item(server, owner, bid, text="back again", z=7)
    delete_note(server, owner, bid, note["id"])
    watcher = streams.open(bid, u["viewer"])
    resp = restore_note(server, u["editor"], bid, note["id"])
    back = tb.assert_status(resp, 200)
    assert resp.header("ETag") == tb.etag_of(note["version"] + 2)
    same = {k: v for k, v in note.items() if k not in ("version", "updated_at")}
    assert {k: v for k, v in back.items() if k not in ("version", "updated_at")} == same, back
    assert back["version"] == note["version"] + 2
    ev = watcher.wait_type("item.created", timeout=10)
    assert ev.json["restored"] is True and ev.json["item"] == back, ev
    assert ev.json["actor"] == {"id": u["editor"].id, "name": u["editor"].name, "display_name": u["editor"].name}
    # On the board again, out of the trash; a second restore: 409.
    items = tb.assert_status(req(server, owner, "GET", "/boards/%d" % bid), 200)["items"]
    assert items == [back]
    assert tb.assert_status(req(server, owner, "GET", "/boards/%d/trash" % bid), 200)["trash"] == []
    tb.assert_error(restore_note(server, owner, bid, note["id"]), 409, "not_deleted")
    # A plain create says nothing of a restore.
    tb.create_item(server, owner, bid, text="new")
    plain = watcher.wait_for(lambda e: e.type == "item.created" and e.json["item"]["text"] == "new")
    assert "restored" not in plain.json


def test_restore_note_statuses(server):
    owner, board, u = team_board(server, viewer=1)
    stranger = tb.new_user(server, "trs")
    bid = board["id"]
    other = tb.create_board(server, owner)["id"]
    live = tb.create_item(server, owner, bid)
    gone = tb.create_item(server, owner, bid)
    delete_note(server, owner, bid, gone["id"])
    tb.assert_error(restore_note(server, None, bid, gone["id"]), 401, "unauthorized")
    tb.assert_error(restore_note(server, stranger, bid, gone["id"]), 404, "not_found")
    tb.assert_error(restore_note(server, u["viewer"], bid, gone["id"]), 403, "forbidden")
    tb.assert_error(restore_note(server, owner, other, gone["id"]), 404, "not_found")  # another board
    tb.assert_error(restore_note(server, owner, bid, 999999999), 404, "not_found")
    tb.assert_error(restore_note(server, owner, bid, live["id"]), 409, "not_deleted")
    tb.assert_error(req(server, stranger, "GET", "/boards/%d/trash" % bid), 404, "not_found")
    tb.assert_error(req(server, None, "GET", "/boards/%d/trash" % bid), 401, "unauthorized")
    # Purged by the supervisor: 410, and out of the list; a fresh deletion is kept.
    kept = tb.create_item(server, owner, bid)
    delete_note(server, owner, bid, kept["id"])
    report = backdate_and_purge(server, item_id=gone["id"])
    assert report["purged_notes"] >= 1, report
    tb.assert_error(restore_note(server, owner, bid, gone["id"]), 410, "gone")
    tb.assert_error(restore_note(server, stranger, bid, gone["id"]), 404, "not_found")
    trash = tb.assert_status(req(server, owner, "GET", "/boards/%d/trash" % bid), 200)
    assert [e["item"]["id"] for e in trash["trash"]] == [kept["id"]]
    tb.assert_status(restore_note(server, owner, bid, kept["id"]), 200)


def test_a_restored_note_whose_author_is_gone_has_no_author(server):
    owner, board, u = team_board(server, editor=1)
    bid = board["id"]
    note = tb.create_item(server, u["editor"], bid, text="orphan")
    delete_note(server, owner, bid, note["id"])
    resp = tb.request(server, "DELETE", "/users/me", {"password": u["editor"].password}, token=u["editor"].token)
    assert resp.status == 204, resp
    back = tb.assert_status(restore_note(server, owner, bid, note["id"]), 200)
    assert back["author_id"] is None and back["text"] == "orphan" and back["version"] == note["version"] + 2, back


def test_a_note_purged_while_its_restore_waits_answers_410(server):
    """The restore's write finds the note gone from the trash (purged while it waited for the trash
    row's lock): nothing is written, the state is read again and answered as a fresh request."""
    owner, board, u = team_board(server)
    bid = board["id"]
    note = tb.create_item(server, owner, bid)
    delete_note(server, owner, bid, note["id"])
    holder = server.connect()
    try:
        holder.autocommit = False
        with holder.cursor() as cur:
            cur.execute("SELECT 1 FROM teamboard.items_trash WHERE item_id = %s FOR UPDATE", (note["id"],))
            result = {}
            waiter = threading.Thread(target=lambda: result.update(resp=restore_note(server, owner, bid, note["id"])))
            waiter.start()
            deadline = time.monotonic() + 10
            while not server.sql("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                 " AND datname = current_database() AND query LIKE '%%restore%%'"):
                assert time.monotonic() < deadline, "the restore never waited for the trash row"
                time.sleep(0.02)
            cur.execute("UPDATE teamboard.items_trash SET item = NULL, purged_at = now() WHERE item_id = %s",
                        (note["id"],))
        holder.commit()
        waiter.join(10)
    finally:
        holder.close()
    tb.assert_error(result["resp"], 410, "gone")
    assert server.sql("SELECT count(*) FROM teamboard.items WHERE id = %s", (note["id"],)) == [(0,)]


# ---- boards -----------------------------------------------------------------------------------

def test_a_deleted_board_is_invisible_everywhere_until_restored(server, streams):
    owner, board, u = team_board(server, admin=1, editor=1, viewer=1)
    bid = board["id"]
    note = tb.create_item(server, owner, bid, text="with the board")
    gone_note = tb.create_item(server, owner, bid, text="in its trash")
    delete_note(server, owner, bid, gone_note["id"])
    watcher = streams.open(bid, u["viewer"])
    tb.assert_status(req(server, owner, "DELETE", "/boards/%d" % bid), 204)
    deleted = watcher.wait_type("board.deleted", timeout=10)
    assert watcher.wait_type("revoked", timeout=10).json == {"reason": "board_deleted"}
    watcher.wait_ended(timeout=10)
    b = "/boards/%d" % bid
    for user in (owner, u["admin"], u["editor"], u["viewer"]):
        assert bid not in [x["id"] for x in tb.assert_status(req(server, user, "GET", "/boards"), 200)["boards"]]
        for method, path, body in (("GET", b, None), ("PATCH", b, {"title": "x"}), ("DELETE", b, None),
                                   ("GET", b + "/items/%d" % note["id"], None),
                                   ("POST", b + "/items", {"text": "x"}),
                                   ("DELETE", b + "/items/%d" % note["id"], None),
                                   ("GET", b + "/events", None), ("GET", b + "/viewers", None),
                                   ("GET", b + "/trash", None),
                                   ("POST", b + "/items/%d/restore" % gone_note["id"], None)):
            tb.assert_error(req(server, user, method, path, body), 404, "not_found")
    again = streams.client(bid, token=owner.token)
    again.connect()
    tb.assert_error(sse.error_response(again), 404, "not_found")
    # GET /trash: the owner and the team's admin, not the editor or the viewer.
    for user, listed in ((owner, True), (u["admin"], True), (u["editor"], False), (u["viewer"], False)):
        doc = tb.assert_status(req(server, user, "GET", "/trash"), 200)
        got = [x for x in doc["boards"] if x["id"] == bid]
        assert bool(got) == listed, (user, doc)
    entry = [x for x in tb.assert_status(req(server, u["admin"], "GET", "/trash"), 200)["boards"]
             if x["id"] == bid][0]
    assert entry["role"] == "admin" and entry["deleted_by"] == {"id": owner.id, "name": owner.name, "display_name": owner.name}, entry
    assert entry["version"] == board["version"] + 1
    assert tb.parse_time(entry["purge_at"]) > tb.parse_time(entry["deleted_at"])

    # Restored by the admin: the board, its notes, its trash and its whole log are back.
    resp = req(server, u["admin"], "POST", b + "/restore")
    back = tb.assert_status(resp, 200)
    assert back["id"] == bid and back["role"] == "admin" and back["version"] == board["version"] + 2, back
    assert back["last_event_id"] == deleted.seq + 1 and resp.header("ETag") == tb.etag_of(back["version"])
    got = tb.assert_status(req(server, owner, "GET", b), 200)
    assert [i["id"] for i in got["items"]] == [note["id"]] and got["last_event_id"] == back["last_event_id"]
    assert [e["item"]["id"] for e in tb.assert_status(req(server, owner, "GET", b + "/trash"), 200)["trash"]] \
        == [gone_note["id"]]
    assert sse.log_seqs(server, bid) == list(range(1, back["last_event_id"] + 1))
    types = sse.log_types(server, bid)
    assert (types[deleted.seq], types[deleted.seq + 1]) == ("board.deleted", "board.restored")
    tb.assert_error(req(server, owner, "POST", b + "/restore"), 409, "not_deleted")

    # The viewer's stream resumes from its last id (the board.deleted) with Last-Event-ID.
    resumed = watcher.reconnect()
    assert resumed.status == 200, resumed.describe()
    streams.clients.append(resumed)
    restored = resumed.wait_type("board.restored", timeout=10)
    assert restored.seq == deleted.seq + 1 and restored.json["board"]["version"] == back["version"], restored
    fresh = tb.create_item(server, u["editor"], bid, text="after")
    ev = resumed.wait_type("item.created", timeout=10)
    assert ev.json["item"]["id"] == fresh["id"] and ev.seq == restored.seq + 1, resumed.describe()


def test_restore_board_statuses_and_purge(server):
    owner, board, u = team_board(server, admin=1, editor=1, viewer=1)
    stranger = tb.new_user(server, "trs")
    bid = board["id"]
    path = "/boards/%d/restore" % bid
    # Live: members see it (403 below admin, 409 from admin), strangers do not.
    for user, status, code in ((None, 401, "unauthorized"), (stranger, 404, "not_found"),
                               (u["viewer"], 403, "forbidden"), (u["editor"], 403, "forbidden"),
                               (u["admin"], 409, "not_deleted"), (owner, 409, "not_deleted")):
        tb.assert_error(req(server, user, "POST", path), status, code)
    tb.assert_error(req(server, owner, "POST", "/boards/999999999/restore"), 404, "not_found")
    # In the trash: only those who may restore it see it.
    tb.assert_status(req(server, u["admin"], "DELETE", "/boards/%d" % bid), 204)
    for user in (stranger, u["viewer"], u["editor"]):
        tb.assert_error(req(server, user, "POST", path), 404, "not_found")
    # Purged: a tombstone; 410 for owner and admin, 404 for everyone else.
    kept = tb.create_board(server, owner)  # deleted just now: not purged
    tb.assert_status(req(server, owner, "DELETE", "/boards/%d" % kept["id"]), 204)
    # A live board's log is its history: by default no age or count prunes it.
    live = tb.create_board(server, owner)["id"]
    tb.create_item(server, owner, live)
    server.sql("UPDATE teamboard.board_events SET created_at = now() - interval '1000 days'"
               " WHERE board_id = %s", (live,))
    report = backdate_and_purge(server, board_id=bid)
    assert report["purged_boards"] >= 1, report
    assert report["pruned_age"] == 0 and report["pruned_cap"] == 0, report
    assert sse.log_seqs(server, live) == [1]
    assert server.sql("SELECT count(*) FROM teamboard.boards WHERE id = %s", (bid,)) == [(0,)]
    assert server.sql("SELECT count(*) FROM teamboard.board_events WHERE board_id = %s", (bid,)) == [(0,)]
    for user, status, code in ((owner, 410, "gone"), (u["admin"], 410, "gone"), (u["editor"], 404, "not_found"),
                               (stranger, 404, "not_found")):
        tb.assert_error(req(server, user, "POST", path), status, code)
    assert bid not in [x["id"] for x in tb.assert_status(req(server, owner, "GET", "/trash"), 200)["boards"]]
    tb.assert_status(req(server, owner, "POST", "/boards/%d/restore" % kept["id"]), 200)


# ---- bad input --------------------------------------------------------------------------------

def test_bad_input(server):
    owner = tb.new_user(server, "trb")
    bid = tb.create_board(server, owner)["id"]
    note = tb.create_item(server, owner, bid)
    delete_note(server, owner, bid, note["id"])
    for path in ("/boards/abc/trash", "/boards/0/trash", "/boards/%d/items/x/restore" % bid,
                 "/boards/01/items/%d/restore" % note["id"], "/boards/-1/restore",
                 "/boards/99999999999999999999/restore", "/trash/1"):
        tb.assert_error(req(server, owner, "GET" if "trash" in path else "POST", path), 404, "not_found")
    for method, path, allow in (("POST", "/boards/%d/trash" % bid, "GET"), ("DELETE", "/trash", "GET"),
                                ("GET", "/boards/%d/restore" % bid, "POST"),
                                ("PATCH", "/boards/%d/items/%d/restore" % (bid, note["id"]), "POST")):
        resp = req(server, owner, method, path)
        tb.assert_error(resp, 405, "method_not_allowed")
        assert resp.header("Allow") == allow, resp
    # The restores take no body: one sent is not read (as on every route without a body).
    restore = "/boards/%d/items/%d/restore" % (bid, note["id"])
    tb.assert_status(req(server, owner, "POST", restore, {"text": "ignored"}), 200)
    tb.assert_status(req(server, owner, "DELETE", "/boards/%d" % bid), 204)
    tb.assert_status(req(server, owner, "POST", "/boards/%d/restore" % bid, raw=b"not json"), 200)
    got = tb.assert_status(req(server, owner, "GET", "/boards/%d/items/%d" % (bid, note["id"])), 200)
    assert got["text"] == note["text"]
    tb.assert_error(req(server, None, "GET", "/trash"), 401, "unauthorized")
