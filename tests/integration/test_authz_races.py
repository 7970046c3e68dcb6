"""Authorization races: a write checks the caller's role in the statement that writes, and locks
the membership row it relies on, so that a removal or demotion that has answered is final.

Each test runs a few client threads that keep writing while an admin removes or demotes them,
for ROUNDS rounds. The checks are exact, not timing guesses:

- a board's event log is in commit order (seq is taken under the board row's lock, held to the
  commit), so no event by the removed or demoted user may have a seq above the seq of the
  member.removed / member.updated event of that removal or demotion;
- a request sent after the removal's or demotion's reply was received must be refused with the
  status the API documents (404 once removed, 403 once a viewer);
- the team's member list at the end of a round is what the last answered change made it;
- no request fails with a 5xx (a deadlock between a write and a member change would).

Every loop is bounded in count and time."""

import threading
import time

import tbclient as tb

ROUNDS = 12
MAX_REQUESTS = 200          # per client thread and round
ROUND_SECONDS = 8.0         # a client thread stops after this long whatever happens
AFTER_CHANGE = 0.25         # how long the clients keep trying after the change was answered


class Recorder:
    """Requests of the client threads: (sent, answered, label, status)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rows = []
        self.errors = []

    def add(self, row):
        with self.lock:
            self.rows.append(row)

    def sent_after(self, t):
        return [r for r in self.rows if r[0] > t]


def run_clients(n, body, delay, change):
    """Starts n threads running body(k, rec, stop) until stop, waits delay, runs change() (which
    returns its response), keeps the clients going AFTER_CHANGE longer, then stops them.
    Returns (recorder, change response, time the change's reply was received)."""
    rec = Recorder()
    stop = threading.Event()
    deadline = time.monotonic() + tb.seconds(ROUND_SECONDS)

    def loop(k):
        try:
            for i in range(MAX_REQUESTS):
                if stop.is_set() or time.monotonic() > deadline:
                    break
                body(k, i, rec)
        except Exception as exc:  # noqa: BLE001 (reported below, not swallowed)
            rec.errors.append(repr(exc))

    threads = [threading.Thread(target=loop, args=(k,), daemon=True) for k in range(n)]
    for t in threads:
        t.start()
    try:
        time.sleep(delay)
        resp = change()
        answered = time.monotonic()
        time.sleep(AFTER_CHANGE)
    finally:
        stop.set()
        for t in threads:
            t.join(tb.seconds(ROUND_SECONDS + 20))
    assert not any(t.is_alive() for t in threads), "a client thread did not stop"
    assert not rec.errors, rec.errors
    # A lock order that could deadlock would show here as 500s (PostgreSQL aborts one side).
    failed = [r for r in rec.rows if r[3] >= 500]
    assert failed == [], failed[:5]
    assert resp.status < 500, resp
    return rec, resp, answered


def timed(rec, label, fn):
    sent = time.monotonic()
    resp = fn()
    rec.add((sent, time.monotonic(), label, resp.status))
    return resp


def delay_of(rnd):
    """Varied start delays, so the change meets the writers at different points of a request."""
    return 0.05 + 0.03 * (rnd % 7)


def member_event_seq(server, board_id, after_seq, type_, user_id, role=None):
    rows = server.sql(
        "SELECT seq FROM teamboard.board_events WHERE board_id = %s AND seq > %s AND type = %s"
        " AND (payload->'member'->>'user_id')::bigint = %s"
        " AND (%s::text IS NULL OR payload->'member'->>'role' = %s::text) ORDER BY seq",
        (board_id, after_seq, type_, user_id, role, role))
    assert len(rows) == 1, "expected one %s event for user %d, got %r" % (type_, user_id, rows)
    return rows[0][0]


def last_seq(server, board_id):
    return server.sql("SELECT last_seq FROM teamboard.boards WHERE id = %s", (board_id,))[0][0]


def events_by_after(server, board_id, actor_id, seq):
    return server.sql("SELECT seq, type FROM teamboard.board_events"
                      " WHERE board_id = %s AND actor_id = %s AND seq > %s ORDER BY seq",
                      (board_id, actor_id, seq))


def role_of(server, team_id, user_id):
    rows = server.sql("SELECT role FROM teamboard.team_members WHERE team_id = %s AND user_id = %s",
                      (team_id, user_id))
    return rows[0][0] if rows else None


def editor_writes(server, editor, board_id, item_ids):
    """A client body for an editor: PATCH its own note, POST a note, DELETE the note it posted,
    PATCH the board, in turn."""
    posted = {}

    def body(k, i, rec):
        op = i % 4
        if op == 1:
            resp = timed(rec, "POST item", lambda: tb.request(
                server, "POST", "/boards/%d/items" % board_id, {"text": "w%d.%d" % (k, i)},
                token=editor.token))
            if resp.status == 201:
                posted[k] = resp.json()["id"]
        elif op == 2 and posted.get(k):
            iid = posted.pop(k)
            timed(rec, "DELETE item", lambda: tb.request(
                server, "DELETE", "/boards/%d/items/%d" % (board_id, iid), token=editor.token))
        elif op == 3:
            timed(rec, "PATCH board", lambda: tb.request(
                server, "PATCH", "/boards/%d" % board_id, {"title": "t%d.%d" % (k, i)},
                token=editor.token))
        else:
            timed(rec, "PATCH item", lambda: tb.request(
                server, "PATCH", "/boards/%d/items/%d" % (board_id, item_ids[k]),
                {"x": i % 1000}, token=editor.token))
    return body


def editor_world(server):
    admin, editor = tb.new_user(server, "adm"), tb.new_user(server, "ed")
    team = tb.create_team(server, admin)
    tb.add_member(server, admin, team["id"], editor, "editor")
    board = tb.create_board(server, admin, team_id=team["id"])
    items = [tb.create_item(server, admin, board["id"], text="n%d" % k)["id"] for k in range(3)]
    return admin, editor, team, board, items


def test_removed_editor_writes_nothing_after_the_removal(server):
    admin, editor, team, board, items = editor_world(server)
    late_writes, refused = [], []
    for rnd in range(ROUNDS):
        start = last_seq(server, board["id"])
        rec, resp, answered = run_clients(
            3, editor_writes(server, editor, board["id"], items), delay_of(rnd),
            lambda: tb.request(server, "DELETE", "/teams/%d/members/%d" % (team["id"], editor.id),
                               token=admin.token))
        tb.assert_status(resp, 204)
        removed = member_event_seq(server, board["id"], start, "member.removed", editor.id)
        late_writes += events_by_after(server, board["id"], editor.id, removed)
        refused += [r for r in rec.sent_after(answered) if r[3] != 404]
        assert role_of(server, team["id"], editor.id) is None
        tb.add_member(server, admin, team["id"], editor, "editor")
    assert late_writes == [], "writes of the removed editor committed after the removal"
    assert refused == [], "requests sent after the removal's 204 not answered 404"


def test_demoted_editor_writes_nothing_after_the_demotion(server):
    admin, editor, team, board, items = editor_world(server)
    late_writes, refused = [], []
    for rnd in range(ROUNDS):
        start = last_seq(server, board["id"])
        rec, resp, answered = run_clients(
            3, editor_writes(server, editor, board["id"], items), delay_of(rnd),
            lambda: tb.request(server, "PATCH", "/teams/%d/members/%d" % (team["id"], editor.id),
                               {"role": "viewer"}, token=admin.token))
        tb.assert_status(resp, 200)
        demoted = member_event_seq(server, board["id"], start, "member.updated", editor.id, "viewer")
        late_writes += events_by_after(server, board["id"], editor.id, demoted)
        refused += [r for r in rec.sent_after(answered) if r[3] != 403]
        assert role_of(server, team["id"], editor.id) == "viewer"
        tb.assert_status(tb.request(server, "PATCH", "/teams/%d/members/%d" % (team["id"], editor.id),
                                    {"role": "editor"}, token=admin.token), 200)
    assert late_writes == [], "writes of the demoted editor committed after the demotion"
    assert refused == [], "requests sent after the demotion's 200 not answered 403"


def test_rogue_admin_cannot_undo_their_demotion(server):
    admin, rogue = tb.new_user(server, "adm"), tb.new_user(server, "rog")
    team = tb.create_team(server, admin)
    tb.add_member(server, admin, team["id"], rogue, "admin")
    path = "/teams/%d/members/%d" % (team["id"], rogue.id)
    kept, refused = [], []

    def body(k, i, rec):
        timed(rec, "PATCH self", lambda: tb.request(server, "PATCH", path, {"role": "admin"},
                                                    token=rogue.token))

    for rnd in range(ROUNDS):
        rec, resp, answered = run_clients(
            2, body, delay_of(rnd),
            lambda: tb.request(server, "PATCH", path, {"role": "viewer"}, token=admin.token))
        tb.assert_status(resp, 200)
        if role_of(server, team["id"], rogue.id) != "viewer":
            kept.append(rnd)
        refused += [r for r in rec.sent_after(answered) if r[3] != 403]
        tb.assert_status(tb.request(server, "PATCH", path, {"role": "admin"}, token=admin.token), 200)
    assert kept == [], "the rogue admin was an admin again after the demotion's 200"
    assert refused == [], "requests sent after the demotion's 200 not answered 403"


def test_rogue_admin_cannot_undo_their_removal(server):
    admin, rogue = tb.new_user(server, "adm"), tb.new_user(server, "rog")
    team = tb.create_team(server, admin)
    tb.add_member(server, admin, team["id"], rogue, "admin")
    back, refused, odd = [], [], []

    def body(k, i, rec):
        resp = timed(rec, "POST self", lambda: tb.request(
            server, "POST", "/teams/%d/members" % team["id"], {"name": rogue.name, "role": "admin"},
            token=rogue.token))
        if resp.status not in (404, 409):
            odd.append(resp)

    for rnd in range(ROUNDS):
        rec, resp, answered = run_clients(
            2, body, delay_of(rnd),
            lambda: tb.request(server, "DELETE", "/teams/%d/members/%d" % (team["id"], rogue.id),
                               token=admin.token))
        tb.assert_status(resp, 204)
        if role_of(server, team["id"], rogue.id) is not None:
            back.append(rnd)
            tb.assert_status(tb.request(server, "DELETE", "/teams/%d/members/%d" % (
                team["id"], rogue.id), token=admin.token), 204)
        refused += [r for r in rec.sent_after(answered) if r[3] != 404]
        tb.add_member(server, admin, team["id"], rogue, "admin")
    assert back == [], "the rogue admin was a member again after the removal's 204"
    assert refused == [], "requests sent after the removal's 204 not answered 404"
    assert odd == [], odd[:3]


def test_removed_member_creates_no_team_board_after_the_removal(server):
    admin, editor = tb.new_user(server, "adm"), tb.new_user(server, "ed")
    team = tb.create_team(server, admin)
    tb.add_member(server, admin, team["id"], editor, "editor")
    tb.create_board(server, admin, team_id=team["id"])  # the removal has a board to log on
    unseen, refused = [], []

    def body(k, i, rec):
        timed(rec, "POST board", lambda: tb.request(
            server, "POST", "/boards", {"title": "b%d.%d" % (k, i), "team_id": team["id"]},
            token=editor.token))

    for rnd in range(ROUNDS):
        first = server.sql("SELECT coalesce(max(id), 0) FROM teamboard.boards")[0][0]
        rec, resp, answered = run_clients(
            3, body, delay_of(rnd),
            lambda: tb.request(server, "DELETE", "/teams/%d/members/%d" % (team["id"], editor.id),
                               token=admin.token))
        tb.assert_status(resp, 204)
        # A board that existed when the removal ran got its member.removed event; a board
        # created after the removal did not.
        unseen += server.sql(
            "SELECT b.id FROM teamboard.boards b WHERE b.id > %s AND b.team_id = %s AND b.owner_id = %s"
            " AND NOT EXISTS (SELECT 1 FROM teamboard.board_events e WHERE e.board_id = b.id"
            "   AND e.type = 'member.removed' AND (e.payload->'member'->>'user_id')::bigint = %s)",
            (first, team["id"], editor.id, editor.id))
        refused += [r for r in rec.sent_after(answered) if r[3] != 422]
        tb.add_member(server, admin, team["id"], editor, "editor")
    assert unseen == [], "team boards created by the member after the removal"
    assert refused == [], "requests sent after the removal's 204 not answered 422"
