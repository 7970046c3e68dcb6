"""What a change sends on its board's channel (sql/009_notify_header.sql), and what a holder does
with every form of payload.

A change NOTIFYs "<seq> <type> <event JSON>", or "<seq> <type>" alone when the event is too large
for NOTIFY: a holder forwards the JSON as it came without parsing it (bench/: parsing each event
in each of 500 holders was a third of the workers' CPU). Payloads that start with "{" are JSON, as
before: heartbeats and presence, and the events of a database not yet migrated (an upgrade).
"""

import json
import select
import time

import tbclient as tb
import tbsse as sse
from tbsse import streams  # noqa: F401  (fixture)


def listener(server, board_id):
    conn = server.connect()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("LISTEN board_%d" % board_id)
    return conn


def next_payload(conn, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn.poll()
        if conn.notifies:
            return conn.notifies.pop(0).payload
        select.select([conn], [], [], max(0.0, deadline - time.monotonic()))
    raise AssertionError("no NOTIFY within %.1f s" % timeout)


def split(payload):
    seq, type_, rest = (payload.split(" ", 2) + [None])[:3]
    return int(seq), type_, rest


def test_change_notifies_seq_type_then_the_event(server):
    owner = tb.new_user(server, "nf")
    bid = tb.create_board(server, owner)["id"]
    conn = listener(server, bid)
    try:
        item = tb.create_item(server, owner, bid, text="hello")
        seq, type_, rest = split(next_payload(conn))
        assert (seq, type_) == (1, "item.created")
        ev = json.loads(rest)
        assert ev["seq"] == 1 and ev["type"] == "item.created" and ev["item"]["id"] == item["id"]
        assert ev["actor"] == {"id": owner.id, "name": owner.name, "display_name": owner.name}

        # Too large for NOTIFY: seq and type only, the holder reads the log.
        tb.assert_status(tb.request(server, "PATCH", "/boards/%d/items/%d" % (bid, item["id"]),
                                    {"text": "x" * 9000}, token=owner.token), 200)
        assert next_payload(conn) == "2 item.updated"

        tb.assert_status(tb.request(server, "PATCH", "/boards/%d" % bid, {"title": "renamed"},
                                    token=owner.token), 200)
        seq, type_, rest = split(next_payload(conn))
        assert (seq, type_, json.loads(rest)["board"]["title"]) == (3, "board.updated", "renamed")

        tb.assert_status(tb.request(server, "DELETE", "/boards/%d" % bid, token=owner.token), 204)
        seq, type_, rest = split(next_payload(conn))
        assert (seq, type_) == (4, "board.deleted")
        assert json.loads(rest)["board"]["id"] == bid
    finally:
        conn.close()


def notify(server, board_id, payload):
    server.sql("SELECT pg_notify(%s, %s)", ("board_%d" % board_id, payload))


def test_holder_forwards_json_events_as_before_009(server, streams):
    """What a holder hears from a database whose record_event predates 009: the event as JSON."""
    owner = tb.new_user(server, "nf")
    bid = tb.create_board(server, owner)["id"]
    c = streams.open(bid, owner)
    old = {"seq": 1, "type": "item.created", "board_id": bid, "at": "2026-12-01T00:00:00Z",
           "actor": None, "item": {"id": 99}}
    notify(server, bid, json.dumps(old))
    ev = c.wait_seq(1)
    assert ev.type == "item.created" and ev.json == old


def test_holder_ignores_malformed_headers(server, streams):
    owner = tb.new_user(server, "nf")
    bid = tb.create_board(server, owner)["id"]
    c = streams.open(bid, owner)
    for bad in ["", " ", "x item.created {}", "1", "1 ", "-1 item.created {}", "1 item.created{}",
                "0 item.created {}", "99999999999999999999 item.created {}", "1 " + "t" * 100 + " {}",
                "1 item created {}", "1 .created {}", "1 item. {}"]:
        notify(server, bid, bad)
    sse.poke(server, bid)
    c.wait_comment(lambda m: m.text == "hb")
    # The stream lives on and the next change comes through whole, once.
    tb.create_item(server, owner, bid, text="real")
    ev = c.wait_seq(1)
    assert ev.type == "item.created" and ev.json["item"]["text"] == "real"
    time.sleep(0.3)
    assert c.seqs() == [1], c.describe()
