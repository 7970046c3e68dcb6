"""bench/biglog.py: a board with a long event log, made fast, for the benchmarks of what reads or
rewrites such a log (bench/history.py, bench/export.py, bench/restore.py).

filled_board() makes a user and a board through the API, appends the note events to the board's
log directly in SQL (test_history.fill_log: NOTES notes, each created, updated many times, deleted
and restored every ten rounds), optionally puts the notes that history leaves on the board (as
the log says they are: PLACE_NOTES), and runs VACUUM ANALYZE on what it wrote.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tools"))

import tbclient as tb  # noqa: E402
from test_history import fill_log  # noqa: E402

# The notes the log leaves, as the items rows they are: written without logging anything
# (teamboard.importing, functions/events.sql), times in the JSON form items.json has.
PLACE_NOTES = """
SET search_path = teamboard;
UPDATE board_events SET payload = jsonb_set(payload, '{item,updated_at}',
                                            to_jsonb((payload -> 'item' ->> 'updated_at')::timestamptz))
 WHERE board_id = %(b)s;
SELECT set_config('teamboard.importing', %(b)s::text, false);
INSERT INTO items (id, board_id, text, color, x, y, w, h, z, author_id, version, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT (i ->> 'id')::bigint, %(b)s, i ->> 'text', i ->> 'color', (i ->> 'x')::int, (i ->> 'y')::int,
       (i ->> 'width')::int, (i ->> 'height')::int, (i ->> 'z')::int, (i ->> 'author_id')::bigint,
       (i ->> 'version')::bigint, (i ->> 'created_at')::timestamptz, (i ->> 'updated_at')::timestamptz
  FROM (SELECT DISTINCT ON (item_id) type, payload -> 'item' AS i FROM board_events
         WHERE board_id = %(b)s ORDER BY item_id, seq DESC) l
 WHERE type <> 'item.deleted';
SELECT set_config('teamboard.importing', '', false);
RESET search_path;
"""



def filled_board(env, name, events, notes, place_notes=True):
    """A new user called name and a board of theirs whose log holds events note events of notes
    notes; with place_notes the notes the log leaves are on the board too. VACUUM ANALYZEs the
    tables written and prints how long it all took. Returns (user, board id)."""
    user = tb.new_user(env, name)
    bid = tb.create_board(env, user)["id"]
    t0 = time.perf_counter()
    fill_log(env, bid, events, notes, user.id)
    if place_notes:
        env.sql(PLACE_NOTES, {"b": bid})
    env.sql("VACUUM ANALYZE teamboard.board_events")
    if place_notes:
        env.sql("VACUUM ANALYZE teamboard.items")
    print("filled %d events (%d notes) in %.1f s" % (events, notes, time.perf_counter() - t0))
    return user, bid
