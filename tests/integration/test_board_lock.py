"""Writers of one board queue on the board's row lock (sql/006_board_lock.sql, 008_fk_at_commit.sql).

A new note must take FOR NO KEY UPDATE on its board row before the foreign key's RI check takes
FOR KEY SHARE: otherwise a writer that waits for another one first joins a MultiXact on the row,
and PostgreSQL reads MultiXact members on every later visit of the row (docs/performance.md).
Since 008 the lock comes from record_event's UPDATE of last_seq and the checks run at commit.
"""

import threading
import time

import tbclient as tb


def board_row_locks(server, board_id):
    """(multi, modes) of the row lock on the board's row, from pgrowlocks; None when unlocked."""
    rows = server.sql("SELECT l.multi, l.modes::text FROM teamboard.boards b,"
                      " pgrowlocks('teamboard.boards') l WHERE b.id = %s AND l.locked_row = b.ctid",
                      (board_id,))
    return rows[0] if rows else None


def test_waiting_writer_joins_no_multixact(server):
    server.sql("CREATE EXTENSION IF NOT EXISTS pgrowlocks")
    owner = tb.new_user(server)
    board = tb.create_board(server, owner)
    holder = server.connect()
    holder.autocommit = False
    result = {}
    try:
        with holder.cursor() as cur:
            # Another writer of the board, between its record_event and its commit.
            cur.execute("SELECT 1 FROM teamboard.boards WHERE id = %s FOR NO KEY UPDATE", (board["id"],))

        def post():
            result["resp"] = tb.request(server, "POST", "/boards/%d/items" % board["id"], {"text": "waits"},
                                        token=owner.token)
        t = threading.Thread(target=post, daemon=True)
        t.start()
        deadline = time.monotonic() + 10
        waiting = 0
        while time.monotonic() < deadline and not waiting:
            waiting = server.sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                 " AND query LIKE '%%INSERT INTO items%%'")[0][0]
            time.sleep(0.02)
        assert waiting == 1, "the POST did not wait for the board's row lock"
        locks = board_row_locks(server, board["id"])
        assert locks is not None and locks[0] is False, locks  # the holder alone, no MultiXact
        assert "No Key Update" in locks[1], locks
    finally:
        holder.rollback()
        holder.close()
    t.join(10)
    assert not t.is_alive()
    item = tb.check_item(tb.assert_status(result["resp"], 201))
    assert item["text"] == "waits"
