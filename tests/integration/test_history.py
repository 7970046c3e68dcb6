"""Time travel (issue 14, item 4; docs/api.md, "GET /boards/:id/history"): the board as it was
after event N (?seq=N) or after the last event logged at or before a time (?at=), computed from the
log (sql/functions/history.sql). The property test: time travel to every seq of a random sequence
of changes (create, update of random fields, delete, restore, undo, redo, rename) equals the board
as GET /boards/:id showed it right after that change. The roles are in test_authz_matrix.py; the
100,000-event measurement is bench/history.py (docs/performance.md)."""

import random

import tbclient as tb


def req(server, user, method, path, body=None):
    return tb.request(server, method, path, body=body, token=user.token if user else None)


def history(server, user, bid, query):
    return req(server, user, "GET", "/boards/%d/history?%s" % (bid, query))


def at_seq(server, user, bid, seq):
    doc = tb.assert_status(history(server, user, bid, "seq=%d" % seq), 200)
    assert doc["seq"] == seq and doc["last_event_id"] == seq, doc
    return doc


def board(server, user, bid):
    return tb.assert_status(req(server, user, "GET", "/boards/%d" % bid), 200)


def fill_log(server, bid, events, notes, actor):
    """Appends `events` note events to the log of the empty board bid, directly in SQL (as the
    items_event trigger writes them, without the notes' rows): note k (0..notes-1) is created in
    round 0 (seq k+1), deleted in every round r with r % 10 == 5, restored in the round after, and
    updated (x, y, text) in the others; event s of round r has x = s % 1000, y = r. Returns
    expected(n): {item id: (x, y)} of the notes on the board after event n."""
    base = 9000000000000 + bid * 1000000
    server.sql(
        "INSERT INTO teamboard.board_events (board_id, seq, type, actor_id, payload, created_at, item_id)"
        " SELECT %(b)s, s, t.type, %(a)s,"
        "        jsonb_build_object('item', jsonb_build_object('id', %(base)s + k, 'board_id', %(b)s,"
        "            'text', 'note ' || k || ' in round ' || r, 'color', '#fff59d', 'x', s %% 1000, 'y', r,"
        "            'width', 200, 'height', 150, 'z', k, 'author_id', %(a)s,"
        "            'version', r + 1 + CASE WHEN r %% 10 = 5 THEN 1 ELSE 0 END,"
        "            'created_at', '2026-01-01T00:00:00+00:00',"
        "            'updated_at', to_char(now() - (%(n)s - s) * interval '1 ms', 'YYYY-MM-DD\"T\"HH24:MI:SS.USOF')))"
        "        || CASE t.type WHEN 'item.updated' THEN jsonb_build_object('changed', '[\"text\", \"x\", \"y\"]'::jsonb,"
        "                 'before', jsonb_build_object('x', (s - %(m)s) %% 1000, 'y', r - 1))"
        "            WHEN 'item.created' THEN CASE WHEN r > 0 THEN '{\"restored\": true}'::jsonb ELSE '{}' END"
        "            ELSE '{}'::jsonb END,"
        "        now() - (%(n)s - s) * interval '1 ms', %(base)s + k"
        "   FROM generate_series(1, %(n)s) s,"
        "        LATERAL (SELECT (s - 1) %% %(m)s AS k, (s - 1) / %(m)s AS r) g,"
        "        LATERAL (SELECT CASE WHEN r = 0 OR r %% 10 = 6 THEN 'item.created'"
        "                             WHEN r %% 10 = 5 THEN 'item.deleted' ELSE 'item.updated' END AS type) t",
        {"b": bid, "a": actor, "base": base, "n": events, "m": notes})
    server.sql("UPDATE teamboard.boards SET last_seq = %s WHERE id = %s", (events, bid))

    def expected(n):
        state = {}
        for k in range(min(notes, n)):
            r = (n - k - 1) // notes
            s = r * notes + k + 1
            if r % 10 != 5:
                state[base + k] = (s % 1000, r)
        return state
    return expected


def test_bad_parameters_are_400_bad_request(server):
    owner = tb.new_user(server, "hb")
    bid = tb.create_board(server, owner)["id"]
    tb.create_item(server, owner, bid, text="one")
    for query in ("", "seq=", "seq", "seq=-1", "seq=%2B1", "seq=01", "seq=1.5", "seq=abc", "seq=%zz",
                  "seq=99999999999999999999", "seq=1&at=2026-12-04T10:00:00Z", "at=", "at=now",
                  "at=yesterday", "at=2026-12-04", "at=2026-12-04T10:00:00", "at=2026-02-30T10:00:00Z",
                  "at=2026-12-04T25:00:00Z", "at=2026-12-04T10:00:00Zx", "at=2026-12-04T10:00:00.1234567Z",
                  "limit=5", "after=0"):
        tb.assert_error(history(server, owner, bid, query), 400, "bad_request")
    # A seq past the board's last event: 400, with the last one.
    doc = tb.assert_error(history(server, owner, bid, "seq=2"), 400, "bad_request")
    assert doc["last_event_id"] == 1, doc
    tb.assert_error(history(server, owner, bid, "seq=9223372036854775807"), 400, "bad_request")
    # The route checks its session first, and a board one cannot see is 404 whatever the query.
    tb.assert_error(history(server, None, bid, "seq=abc"), 401, "unauthorized")
    tb.assert_error(history(server, tb.new_user(server, "hs"), bid, "seq=0"), 404, "not_found")


def test_seq_zero_is_the_board_as_created_and_the_title_follows_renames(server):
    owner = tb.new_user(server, "ht")
    created = tb.create_board(server, owner, title="first")
    bid = created["id"]
    tb.create_item(server, owner, bid, text="a")                                          # 1
    r1 = tb.assert_status(req(server, owner, "PATCH", "/boards/%d" % bid, {"title": "second"}), 200)  # 2
    tb.create_item(server, owner, bid, text="b")                                          # 3
    r2 = tb.assert_status(req(server, owner, "PATCH", "/boards/%d" % bid, {"title": "third"}), 200)   # 4
    zero = at_seq(server, owner, bid, 0)
    assert (zero["title"], zero["version"], zero["items"]) == ("first", 1, []), zero
    assert zero["updated_at"] == created["updated_at"] and zero["last_seq"] == 4, zero
    one = at_seq(server, owner, bid, 1)
    assert one["title"] == "first" and [i["text"] for i in one["items"]] == ["a"], one
    two = at_seq(server, owner, bid, 2)
    assert (two["title"], two["version"], two["updated_at"]) == ("second", r1["version"], r1["updated_at"])
    assert at_seq(server, owner, bid, 3)["title"] == "second"
    four = at_seq(server, owner, bid, 4)
    now = board(server, owner, bid)
    assert (four["title"], four["version"]) == ("third", r2["version"])
    for key in ("id", "title", "team_id", "owner_id", "role", "version", "created_at", "updated_at", "items"):
        assert four[key] == now[key], key


def test_a_deleted_then_restored_note(server):
    owner = tb.new_user(server, "hr")
    bid = tb.create_board(server, owner)["id"]
    note = tb.create_item(server, owner, bid, text="keep", x=5)                           # 1
    moved = tb.assert_status(req(server, owner, "PATCH", "/boards/%d/items/%d" % (bid, note["id"]),
                                 {"x": 50}), 200)                                          # 2
    tb.assert_status(req(server, owner, "DELETE", "/boards/%d/items/%d" % (bid, note["id"])), 204)  # 3
    back = tb.assert_status(req(server, owner, "POST", "/boards/%d/items/%d/restore" % (bid, note["id"])), 200)  # 4
    assert [at_seq(server, owner, bid, n)["items"] for n in range(5)] == [[], [note], [moved], [], [back]]


def test_at_picks_the_last_event_at_or_before_the_time(server):
    owner = tb.new_user(server, "ha")
    bid = tb.create_board(server, owner)["id"]
    for n in range(3):
        tb.create_item(server, owner, bid, text=str(n))
    times = server.sql("SELECT seq, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
                       " FROM teamboard.board_events WHERE board_id = %s ORDER BY seq", (bid,))
    for seq, t in times:
        want = server.sql("SELECT max(seq) FROM teamboard.board_events WHERE board_id = %s"
                          " AND created_at <= %s::timestamptz", (bid, t + "Z"))[0][0]
        for q in ("at=%sZ" % t, "at=%s%%2B00:00" % t, "at=%s+00:00" % t):  # an unescaped + reads as a space
            doc = tb.assert_status(history(server, owner, bid, q), 200)
            assert doc["seq"] == want >= seq and len(doc["items"]) == want, (q, doc)
    early = tb.assert_status(history(server, owner, bid, "at=2000-01-01T00:00:00Z"), 200)
    assert (early["seq"], early["items"]) == (0, []), early
    late = tb.assert_status(history(server, owner, bid, "at=2999-01-01T01:00:00-01:00"), 200)
    assert late["seq"] == late["last_seq"] == 3 and len(late["items"]) == 3, late


def test_a_board_in_the_trash_is_404_and_a_pruned_log_is_410_reset(server):
    owner = tb.new_user(server, "hp")
    bid = tb.create_board(server, owner)["id"]
    tb.create_item(server, owner, bid)
    tb.create_item(server, owner, bid)
    tb.assert_status(req(server, owner, "DELETE", "/boards/%d" % bid), 204)
    tb.assert_error(history(server, owner, bid, "seq=1"), 404, "not_found")
    tb.assert_status(req(server, owner, "POST", "/boards/%d/restore" % bid), 200)
    assert len(at_seq(server, owner, bid, 2)["items"]) == 2
    # Retention (event_retention_*) pruned the log's start: the history is not whole any more.
    server.sql("DELETE FROM teamboard.board_events WHERE board_id = %s AND seq = 1", (bid,))
    for n in (0, 1, 2, 4):
        doc = tb.assert_error(history(server, owner, bid, "seq=%d" % n), 410, "reset")
        assert doc["last_event_id"] == 4, doc


def test_a_generated_log_of_2000_events(server):
    """The SQL path on a log like bench/history.py's (whose 100,000 events are timed there)."""
    owner = tb.new_user(server, "hg")
    bid = tb.create_board(server, owner)["id"]
    expected = fill_log(server, bid, 2000, 40, owner.id)
    for n in (0, 1, 39, 40, 41, 239, 240, 250, 999, 1999, 2000):
        doc = at_seq(server, owner, bid, n)
        got = {i["id"]: (i["x"], i["y"]) for i in doc["items"]}
        assert got == expected(n), n
        assert [i["z"] for i in doc["items"]] == sorted(i["z"] for i in doc["items"])


def test_time_travel_equals_the_board_after_each_change(server):
    """Property: 60 random changes through the API (seed fixed); after each, GET /boards/:id is the
    state that history?seq=<its last_event_id> must give: title, version, and every note exactly.
    Two editors, so undo meets someone else's change (409: nothing written, nothing recorded)."""
    rng = random.Random(14)
    owner = tb.new_user(server, "hq")
    team = tb.create_team(server, owner)
    other = tb.new_user(server, "hq")
    tb.add_member(server, owner, team["id"], other, "editor")
    bid = tb.create_board(server, owner, team_id=team["id"])["id"]
    states = {0: board(server, owner, bid)}
    trashed, done = [], set()
    for step in range(60):
        user = rng.choice((owner, owner, other))
        live = states[max(states)]["items"]
        op = rng.choice(("create", "update", "update", "update", "delete", "restore", "undo", "redo", "rename"))
        if op == "create" or not live and op in ("update", "delete"):
            op = "create"
            resp = req(server, user, "POST", "/boards/%d/items" % bid,
                       {"text": "n%d" % step, "x": rng.randint(-50, 50), "z": rng.randint(-3, 3)})
        elif op == "update":
            fields = {"text": "t%d" % step, "color": "#%06x" % rng.randrange(1 << 24), "x": rng.randint(-50, 50),
                      "y": rng.randint(-50, 50), "width": rng.randint(20, 400), "height": rng.randint(20, 400),
                      "z": rng.randint(-3, 3)}
            body = dict(rng.sample(sorted(fields.items()), rng.randint(1, 3)))
            resp = req(server, user, "PATCH", "/boards/%d/items/%d" % (bid, rng.choice(live)["id"]), body)
        elif op == "delete":
            victim = rng.choice(live)["id"]
            resp = req(server, user, "DELETE", "/boards/%d/items/%d" % (bid, victim))
            trashed.append(victim)
        elif op == "restore" and trashed:
            resp = req(server, user, "POST", "/boards/%d/items/%d/restore" % (bid, trashed.pop(rng.randrange(len(trashed)))))
        elif op in ("undo", "redo"):
            resp = req(server, user, "POST", "/boards/%d/%s" % (bid, op))
        else:
            op = "rename" if op == "rename" else "rename (for %s)" % op
            resp = req(server, user, "PATCH", "/boards/%d" % bid, {"title": "title %d" % step})
        assert resp.status in (200, 201, 204, 409), resp
        if resp.status < 300:
            done.add(op)
        now = board(server, owner, bid)
        states[now["last_event_id"]] = now
        trashed = [t for t in trashed if t not in {i["id"] for i in now["items"]}]
    last = max(states)
    assert done >= {"create", "update", "delete", "restore", "undo", "redo", "rename"}, done
    assert last >= 40, "too few changes logged: %d" % last
    for seq, want in sorted(states.items()):
        got = at_seq(server, owner, bid, seq)
        assert got["last_seq"] == last
        for key in ("id", "title", "team_id", "owner_id", "role", "version", "created_at", "updated_at", "items"):
            assert got[key] == want[key], (seq, key, got[key], want[key])
