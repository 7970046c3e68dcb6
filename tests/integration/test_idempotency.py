"""Idempotent note creation (issue 17; docs/api.md, POST /boards/:id/items): an Idempotency-Key
header makes a repeated create return the note made the first time (same status, body, ETag and
Location, plus Idempotent-Replayed: true) and make no second note or event, also when the repeats
run at the same time. A repeat must carry the same fields with the same values (their order, the
JSON's whitespace and escapes do not count): a key used again with another body is
422 idempotency_key_reused and makes nothing. The key is 1 to 64 of [A-Za-z0-9_-] (else 400
bad_request), kept per user and board, and pruned by the supervisor after 24 hours."""

import threading

import tbclient as tb
import tbsse as sse
from test_supervisor import supervisors  # noqa: F401  (fixture)


def create(server, user, board_id, key, body=None, **kw):
    headers = {} if key is None else {"Idempotency-Key": key}
    if "raw" not in kw:
        kw["body"] = {} if body is None else body
    return tb.request(server, "POST", "/boards/%d/items" % board_id, headers=headers,
                      token=kw.pop("token", user.token), **kw)


def notes(server, board_id):
    return server.sql("SELECT count(*) FROM teamboard.items WHERE board_id = %s", (board_id,))[0][0]


def test_repeat_returns_the_first_reply(server):
    u = tb.new_user(server, "idem")
    bid = tb.create_board(server, u)["id"]
    first = create(server, u, bid, "note-1_A", {"text": "hello", "x": 5})
    item = tb.assert_status(first, 201)
    assert first.header("Idempotent-Replayed") is None, first
    again = create(server, u, bid, "note-1_A", {"text": "hello", "x": 5})
    assert tb.assert_status(again, 201) == item
    assert again.body == first.body
    assert again.header("Idempotent-Replayed") == "true", again
    assert again.header("ETag") == first.header("ETag") == tb.etag_of(item["version"])
    assert again.header("Location") == first.header("Location")
    assert notes(server, bid) == 1
    assert sse.log_seqs(server, bid) == [1], "a replay recorded an event"
    # Another key is another note.
    other = tb.assert_status(create(server, u, bid, "note-2"), 201)
    assert other["id"] != item["id"] and notes(server, bid) == 2
    # Without a key every create is a new note.
    tb.assert_status(create(server, u, bid, None), 201)
    tb.assert_status(create(server, u, bid, None), 201)
    assert notes(server, bid) == 4


def test_same_key_other_body_is_422(server):
    u = tb.new_user(server, "idbody")
    bid = tb.create_board(server, u)["id"]
    first = create(server, u, bid, "k1", {"text": "a\u00e9", "x": 5})
    item = tb.assert_status(first, 201)
    # The same fields and values in another order, spacing and escaping: the same request.
    for raw in (b'{"x": 5, "text": "a\\u00e9"}', b'{ "text" : "a\xc3\xa9" ,"x":5 }'):
        again = create(server, u, bid, "k1", raw=raw)
        assert again.status == 201 and again.body == first.body, (raw, again)
        assert again.header("Idempotent-Replayed") == "true", again
    # Another value, a field more or less (even one with its default value), no body: 422.
    for body in ({"text": "b", "x": 5}, {"text": "a\u00e9", "x": 6}, {"text": "a\u00e9"},
                 {"text": "a\u00e9", "x": 5, "y": 0}, {"text": "a\u00e9", "x": 5, "color": "#fff59d"}, {}):
        r = create(server, u, bid, "k1", body)
        tb.assert_error(r, 422, "idempotency_key_reused")
        assert r.header("Idempotent-Replayed") is None and r.header("Location") is None, r
    assert notes(server, bid) == 1
    assert sse.log_seqs(server, bid) == [1], "a refused repeat recorded an event"
    # The first request still replays, and the key is still taken on this board only.
    assert create(server, u, bid, "k1", {"text": "a\u00e9", "x": 5}).body == first.body
    other = tb.create_board(server, u)["id"]
    assert tb.assert_status(create(server, u, other, "k1", {"text": "b"}), 201)["id"] != item["id"]
    # Guards still come first: a bad body is 422 invalid, not a reuse.
    tb.assert_error(create(server, u, bid, "k1", {"x": "1"}), 422, "invalid", "x")


def test_concurrent_repeats_with_other_bodies(server):
    """Requests with one key and two bodies at the same time: one makes the note, those with its
    body get its reply, the others 422."""
    u = tb.new_user(server, "idcb")
    bid = tb.create_board(server, u)["id"]
    for round_ in range(3):
        key = "mixed-%d" % round_
        bodies = [{"text": "A"}, {"text": "B"}] * 3
        results = [None] * len(bodies)
        barrier = threading.Barrier(len(results))

        def run(i):
            try:
                barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
            results[i] = create(server, u, bid, key, bodies[i])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(results))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert all(r is not None for r in results), results
        fresh = [i for i, r in enumerate(results) if r.status == 201 and r.header("Idempotent-Replayed") is None]
        assert len(fresh) == 1, results
        winner = bodies[fresh[0]]
        made = results[fresh[0]].json()
        assert made["text"] == winner["text"]
        for i, r in enumerate(results):
            if bodies[i] == winner:
                assert r.status == 201 and r.json() == made, (i, r)
            else:
                tb.assert_error(r, 422, "idempotency_key_reused")
    assert notes(server, bid) == 3
    assert sse.log_seqs(server, bid) == [1, 2, 3]


def test_key_is_per_user_and_board(server):
    a, b = tb.new_user(server, "ida"), tb.new_user(server, "idb")
    team = tb.create_team(server, a)["id"]
    tb.add_member(server, a, team, b, "editor")
    one = tb.create_board(server, a, team_id=team)["id"]
    two = tb.create_board(server, a, team_id=team)["id"]
    ids = {tb.assert_status(create(server, a, one, "k"), 201)["id"],
           tb.assert_status(create(server, b, one, "k"), 201)["id"],
           tb.assert_status(create(server, a, two, "k"), 201)["id"]}
    assert len(ids) == 3
    r = create(server, b, one, "k")
    assert r.status == 201 and r.header("Idempotent-Replayed") == "true"
    assert notes(server, one) == 2 and notes(server, two) == 1


def test_bad_keys_are_400(server):
    u = tb.new_user(server, "idbad")
    bid = tb.create_board(server, u)["id"]
    # An empty header: lighttpd does not pass an empty header field on (the request has no key);
    # Apache passes it, and it is refused.
    r = create(server, u, bid, "")
    if server.setup == "lighttpd":
        tb.assert_status(r, 201)
        assert tb.request(server, "DELETE", r.header("Location"), token=u.token).status == 204
    else:
        tb.assert_error(r, 400, "bad_request")
    for key in ("a b", "a.b", "a/b", "x" * 65, "caf\u00e9".encode("utf-8").decode("latin-1"), "k,l", "\"k\"",
                "k;l", "k:l"):
        tb.assert_error(create(server, u, bid, key), 400, "bad_request")
    assert notes(server, bid) == 0
    for key in ("x" * 64, "A-z_09", "-", "_"):
        tb.assert_status(create(server, u, bid, key), 201)
    assert notes(server, bid) == 4


def test_guards_come_first(server):
    """Authentication, CSRF, the body and the caller's role are checked before a key is looked at:
    a refused request stores nothing, and a repeat by someone who lost the board is refused."""
    a, v = tb.new_user(server, "idg"), tb.new_user(server, "idv")
    team = tb.create_team(server, a)["id"]
    tb.add_member(server, a, team, v, "viewer")
    bid = tb.create_board(server, a, team_id=team)["id"]
    tb.assert_error(create(server, a, bid, "bad key"), 400, "bad_request")
    tb.assert_error(create(server, a, bid, "k", {"x": "1"}), 422, "invalid", "x")
    tb.assert_error(create(server, v, bid, "k"), 403, "forbidden")
    tb.assert_error(create(server, a, bid, "k", token=None, cookie=a.cookie, origin="https://evil.example"),
                    403, "bad_origin")
    tb.assert_error(create(server, a, bid, "k", token="0" * 64), 401, "unauthorized")
    tb.assert_error(create(server, a, bid + 1000000, "k"), 404, "not_found")
    assert notes(server, bid) == 0
    item = tb.assert_status(create(server, a, bid, "k", {"text": "first"}), 201)
    assert item["text"] == "first"
    # A member who made a note with a key and then left the team gets 404 for the repeat.
    e = tb.new_user(server, "ide")
    tb.add_member(server, a, team, e, "editor")
    tb.assert_status(create(server, e, bid, "mine"), 201)
    assert tb.request(server, "DELETE", "/teams/%d/members/%d" % (team, e.id), token=a.token).status == 204
    tb.assert_error(create(server, e, bid, "mine"), 404, "not_found")
    # Demoted to viewer: 403.
    tb.add_member(server, a, team, e, "viewer")
    tb.assert_error(create(server, e, bid, "mine"), 403, "forbidden")


def test_deleted_note_still_replays_the_first_reply(server):
    """The key stands for the request, not the note: a repeat after the note was deleted gets the
    first reply again (the client learns of the deletion from the stream or the board) and makes
    no new note."""
    u = tb.new_user(server, "iddel")
    bid = tb.create_board(server, u)["id"]
    first = create(server, u, bid, "gone")
    item = tb.assert_status(first, 201)
    assert tb.request(server, "DELETE", "/boards/%d/items/%d" % (bid, item["id"]), token=u.token).status == 204
    again = create(server, u, bid, "gone")
    assert again.status == 201 and again.body == first.body, again
    assert again.header("Idempotent-Replayed") == "true"
    assert notes(server, bid) == 0


def test_concurrent_repeats_make_one_note(server):
    u = tb.new_user(server, "idcon")
    bid = tb.create_board(server, u)["id"]
    for round_ in range(3):
        key = "race-%d" % round_
        results = [None] * 6
        barrier = threading.Barrier(len(results))

        def run(i):
            try:
                barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
            results[i] = create(server, u, bid, key, {"text": key})

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(results))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert all(r is not None for r in results), results
        assert all(r.status == 201 for r in results), results
        assert len({r.body for r in results}) == 1, [r.body for r in results]
        fresh = [r for r in results if r.header("Idempotent-Replayed") is None]
        assert len(fresh) == 1, [(r.status, r.header("Idempotent-Replayed")) for r in results]
    assert notes(server, bid) == 3
    assert sse.log_seqs(server, bid) == [1, 2, 3]


def test_supervisor_prunes_keys_after_24_hours(server, supervisors):  # noqa: F811
    u = tb.new_user(server, "idprune")
    bid = tb.create_board(server, u)["id"]
    tb.assert_status(create(server, u, bid, "old"), 201)
    tb.assert_status(create(server, u, bid, "young"), 201)
    server.sql("UPDATE teamboard.idempotency_keys SET created_at = now() - interval '25 hours'"
               " WHERE user_id = %s AND key = 'old'", (u.id,))
    server.sql("UPDATE teamboard.idempotency_keys SET created_at = now() - interval '23 hours'"
               " WHERE user_id = %s AND key = 'young'", (u.id,))
    item = tb.create_item(server, u, bid)["id"]
    r = tb.request(server, "POST", "/boards/%d/items/%d/editing" % (bid, item), token=u.token)
    assert r.status == 204, r
    server.sql("UPDATE teamboard.editing_announcements SET sent_at = now() - interval '2 hours'"
               " WHERE user_id = %s", (u.id,))
    supervisors().once()
    left = [r[0] for r in server.sql("SELECT key FROM teamboard.idempotency_keys WHERE user_id = %s", (u.id,))]
    assert left == ["young"], left
    assert server.sql("SELECT count(*) FROM teamboard.editing_announcements WHERE user_id = %s",
                      (u.id,))[0][0] == 0
    report = server.sql("SELECT report FROM teamboard.supervisor_status")[0][0]
    assert report["pruned_idempotency"] >= 1 and report["pruned_editing"] >= 1, report
    # The pruned key is free again: a new note.
    again = create(server, u, bid, "old")
    assert again.status == 201 and again.header("Idempotent-Replayed") is None
