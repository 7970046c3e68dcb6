"""Export and import (issue 14, item 5; docs/export-format.md, docs/api.md "Export and import"):
GET /boards/:id/export streams the board, its notes and its whole history as one JSON document
(the notes as CSV for Accept: text/csv); POST /boards/import makes a new board from such a
document. The round trip export -> import -> export is byte-identical apart from the note ids and
exported_at. Every bad document has its exact status here. The roles are in
test_authz_matrix.py; the 100,000-event measurement is bench/export.py (docs/performance.md)."""

import copy
import json
import os
import re
import socket
import struct

import tbclient as tb


def req(server, user, method, path, body=None, **kw):
    return tb.request(server, method, path, body=body, token=user.token if user else None, **kw)


def export(server, user, bid):
    resp = req(server, user, "GET", "/boards/%d/export" % bid)
    assert resp.status == 200, resp
    assert resp.header("Content-Type") == "application/json; charset=utf-8"
    assert resp.header("Content-Disposition") == 'attachment; filename="board-%d.json"' % bid
    return resp.body


def import_raw(server, user, raw, query="", headers=None):
    return req(server, user, "POST", "/boards/import" + query, raw=raw, headers=headers)


def import_doc(server, user, doc, query=""):
    return import_raw(server, user, json.dumps(doc, ensure_ascii=False).encode("utf-8"), query)


def busy_board(server, user, other):
    """A team board with a history of every kind: notes made, changed, deleted, restored, undone,
    redone by two people, a rename, a member added, the board deleted and restored; texts with
    commas, quotes and newlines."""
    team = tb.create_team(server, user)
    tb.add_member(server, user, team["id"], other, "editor")
    bid = tb.create_board(server, user, title="Retro, \"Q4\"", team_id=team["id"])["id"]
    a = tb.create_item(server, user, bid, text='one, "two"\nthree', x=10, y=-20)
    b = tb.create_item(server, other, bid, text="=SUM(A1:A9)", color="#ffcc00")
    c = tb.create_item(server, user, bid, text="gone soon")
    tb.assert_status(req(server, user, "PATCH", "/boards/%d/items/%d" % (bid, a["id"]),
                         {"x": 300, "text": "changed"}), 200)
    tb.assert_status(req(server, other, "PATCH", "/boards/%d/items/%d" % (bid, b["id"]), {"z": 7}), 200)
    tb.assert_status(req(server, user, "DELETE", "/boards/%d/items/%d" % (bid, c["id"])), 204)
    tb.assert_status(req(server, user, "POST", "/boards/%d/undo" % bid), 200)   # c back
    tb.assert_status(req(server, user, "POST", "/boards/%d/redo" % bid), 200)   # c gone again
    tb.assert_status(req(server, user, "POST", "/boards/%d/items/%d/restore" % (bid, c["id"])), 200)
    tb.assert_status(req(server, user, "PATCH", "/boards/%d" % bid, {"title": "Retro Q4"}), 200)
    tb.create_item(server, other, bid, text="last", width=400, height=300)
    tb.add_member(server, user, team["id"], tb.new_user(server, "ex"), "viewer")
    tb.assert_status(req(server, user, "DELETE", "/boards/%d" % bid), 204)      # board.deleted
    tb.assert_status(req(server, user, "POST", "/boards/%d/restore" % bid), 200)  # board.restored
    return bid, team


IDS = re.compile(rb'"id":[0-9]+')
EXPORTED = re.compile(rb'"exported_at":"[^"]*"')


def normalized(doc):
    return EXPORTED.sub(b'"exported_at":_', IDS.sub(b'"id":_', doc))


def note_ids(doc):
    return [int(m[5:]) for m in IDS.findall(doc)]


def test_round_trip_is_byte_identical_apart_from_ids_and_times(server):
    owner, other = tb.new_user(server, "ex"), tb.new_user(server, "ex")
    bid, _ = busy_board(server, owner, other)
    first = export(server, owner, bid)
    doc = json.loads(first)
    assert doc["format"] == "teamboard-export" and doc["version"] == 1
    assert [e["seq"] for e in doc["events"]] == list(range(1, doc["board"]["last_seq"] + 1))
    assert {e["type"] for e in doc["events"]} == {"item.created", "item.updated", "item.deleted",
                                                  "board.updated", "member.added", "board.deleted",
                                                  "board.restored"}
    assert doc["notes"][0]["author"] == owner.name
    created = tb.assert_status(import_raw(server, owner, first), 201)
    assert created["imported"] == {"notes": len(doc["notes"]), "events": len(doc["events"])}
    assert created["team_id"] is None and created["owner_id"] == owner.id
    second = export(server, owner, created["id"])
    assert normalized(second) == normalized(first)
    # The ids are another board's, one for one (a note keeps its place in every event).
    old, new = note_ids(first), note_ids(second)
    mapping = dict(zip(old, new))
    assert len(old) == len(new) and [mapping[i] for i in old] == new
    assert len(set(mapping.values())) == len(mapping) and not set(old) & set(new)
    # The imported board reads as the original, and so does its past.
    a = tb.assert_status(req(server, owner, "GET", "/boards/%d" % bid), 200)
    b = tb.assert_status(req(server, owner, "GET", "/boards/%d" % created["id"]), 200)
    strip = ("id", "board_id", "team_id", "role")
    assert [{k: v for k, v in i.items() if k not in strip} for i in a["items"]] == \
        [{k: v for k, v in i.items() if k not in strip} for i in b["items"]]
    assert (a["title"], a["version"], a["last_event_id"]) == (b["title"], b["version"], b["last_event_id"])
    for seq in (3, 7, 10):
        h1 = tb.assert_status(req(server, owner, "GET", "/boards/%d/history?seq=%d" % (bid, seq)), 200)
        h2 = tb.assert_status(req(server, owner, "GET", "/boards/%d/history?seq=%d" % (created["id"], seq)), 200)
        assert [(i["text"], i["x"], i["version"]) for i in h1["items"]] == \
            [(i["text"], i["x"], i["version"]) for i in h2["items"]]
        assert h1["title"] == h2["title"]



def test_a_log_of_several_pages_comes_whole_and_in_order(server):
    """The log is read 1000 events a page, the next page's query sent before this page is written
    (lib/api_export.c): 2,500 events (test_history.fill_log, in SQL) come out once each, in seq
    order, each with its own note as the log has it, and the document is JSON. Imported again, the
    import's batches of 1000 events (each sent before the next is read and checked) give the same
    log (the times of fill_log's notes are not as PostgreSQL writes them: the round trip of whole
    bytes is test_round_trip_* above)."""
    from test_history import fill_log
    owner = tb.new_user(server, "exl")
    bid = tb.create_board(server, owner)["id"]
    fill_log(server, bid, 2500, 100, owner.id)
    doc = json.loads(export(server, owner, bid))
    assert [e["seq"] for e in doc["events"]] == list(range(1, 2501))
    assert doc["board"]["last_seq"] == 2500
    base = 9000000000000 + bid * 1000000
    for e in doc["events"]:
        k, r = (e["seq"] - 1) % 100, (e["seq"] - 1) // 100
        assert e["item"]["id"] == base + k and e["item"]["x"] == e["seq"] % 1000 and e["item"]["y"] == r, e
        assert e["actor"] == owner.name and e["item"]["author"] == owner.name
    # imported (the notes the log leaves, as its last event of each has them: the log was written
    # in SQL without the notes' rows): three batches of events, each written while the next is read
    last = {}
    for e in doc["events"]:
        last[e["item"]["id"]] = e
    doc["notes"] = sorted((e["item"] for e in last.values() if e["type"] != "item.deleted"),
                          key=lambda n: (n["z"], n["id"]))
    resp = import_doc(server, owner, doc)
    assert resp.status == 201, resp
    assert resp.json()["imported"] == {"notes": len(doc["notes"]), "events": 2500}
    again = json.loads(export(server, owner, resp.json()["id"]))
    def shape(events):
        return [(e["seq"], e["type"], e["item"]["x"], e["item"]["y"], e["item"]["text"]) for e in events]
    assert shape(again["events"]) == shape(doc["events"])


def test_import_into_a_team_and_authors_by_name(server):
    owner, other = tb.new_user(server, "ex"), tb.new_user(server, "ex")
    bid, team = busy_board(server, owner, other)
    doc = json.loads(export(server, owner, bid))
    # Into the team, by its editor: the board is the team's, the authors are who they were.
    created = tb.assert_status(import_doc(server, other, doc, "?team_id=%d" % team["id"]), 201)
    assert created["team_id"] == team["id"] and created["owner_id"] == other.id
    assert created["role"] == "owner"  # its creator, while an editor or admin of the team
    items = tb.assert_status(req(server, owner, "GET", "/boards/%d" % created["id"]), 200)["items"]
    assert sorted(i["author_id"] for i in items) == sorted([owner.id, other.id, other.id, owner.id])
    # A name that is nobody here: the note and the event have no author (null), nothing fails.
    doc2 = copy.deepcopy(doc)
    for n in doc2["notes"]:
        n["author"] = "nobody-" + tb.unique()
    for e in doc2["events"]:
        e["actor"] = "nobody-here"
        if "item" in e and "author" in e["item"]:
            e["item"]["author"] = [n for n in doc2["notes"] if n["id"] == e["item"]["id"]][0]["author"] \
                if any(n["id"] == e["item"]["id"] for n in doc2["notes"]) else None
    created = tb.assert_status(import_doc(server, owner, doc2), 201)
    again = json.loads(export(server, owner, created["id"]))
    assert {n["author"] for n in again["notes"]} == {None}
    assert {e["actor"] for e in again["events"]} == {None}


def test_import_team_roles(server):
    owner, viewer, stranger = (tb.new_user(server, "ex") for _ in range(3))
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], viewer, "viewer")
    bid = tb.create_board(server, owner)["id"]
    doc = json.loads(export(server, owner, bid))
    tb.assert_error(import_doc(server, viewer, doc, "?team_id=%d" % team["id"]), 403, "forbidden")
    tb.assert_error(import_doc(server, stranger, doc, "?team_id=%d" % team["id"]), 422, "invalid", "team_id")
    for bad in ("?team_id=0", "?team_id=abc", "?team_id=", "?team_id=%zz"):
        tb.assert_error(import_doc(server, owner, doc, bad), 422, "invalid", "team_id")


def test_csv_quotes_and_guards_formulas(server):
    owner = tb.new_user(server, "ex")
    bid = tb.create_board(server, owner)["id"]
    tb.create_item(server, owner, bid, text='a, "b"\r\nc', x=-5, y=7, z=1)
    tb.create_item(server, owner, bid, text="=HYPERLINK(\"http://x\")", color="#ABCDEF", z=2)
    tb.create_item(server, owner, bid, text="+1", z=3)
    tb.create_item(server, owner, bid, text="-2", z=4)
    tb.create_item(server, owner, bid, text="@cmd", z=5)
    tb.create_item(server, owner, bid, text="plain", z=6)
    resp = req(server, owner, "GET", "/boards/%d/export" % bid, headers={"Accept": "text/csv"})
    assert resp.status == 200, resp
    assert resp.header("Content-Type") == "text/csv; charset=utf-8; header=present"
    assert resp.header("Content-Disposition") == 'attachment; filename="board-%d.csv"' % bid
    items = tb.assert_status(req(server, owner, "GET", "/boards/%d" % bid), 200)["items"]
    up = [i["updated_at"] for i in items]
    n = owner.name
    assert resp.body.decode("utf-8") == (
        "text,color,x,y,width,height,author,updated\r\n"
        '"a, ""b""\r\nc",#fff59d,-5,7,200,150,%s,%s\r\n'
        "\"'=HYPERLINK(\"\"http://x\"\")\",#abcdef,0,0,200,150,%s,%s\r\n"
        "\"'+1\",#fff59d,0,0,200,150,%s,%s\r\n"
        "\"'-2\",#fff59d,0,0,200,150,%s,%s\r\n"
        "\"'@cmd\",#fff59d,0,0,200,150,%s,%s\r\n"
        "plain,#fff59d,0,0,200,150,%s,%s\r\n") % (n, up[0], n, up[1], n, up[2], n, up[3], n, up[4], n, up[5])
    # Among other media types, with parameters: still CSV.
    resp = req(server, owner, "GET", "/boards/%d/export" % bid,
               headers={"Accept": "application/json;q=0.5, TEXT/CSV;q=0.9"})
    assert resp.status == 200 and resp.header("Content-Type").startswith("text/csv")


def test_export_of_a_board_with_no_notes_and_404s(server):
    owner, stranger = tb.new_user(server, "ex"), tb.new_user(server, "ex")
    bid = tb.create_board(server, owner, title="empty")["id"]
    doc = json.loads(export(server, owner, bid))
    assert doc["notes"] == [] and doc["events"] == [] and doc["board"]["last_seq"] == 0
    assert doc["board"]["title"] == "empty"
    created = tb.assert_status(import_doc(server, owner, doc), 201)
    assert created["title"] == "empty" and created["imported"] == {"notes": 0, "events": 0}
    tb.assert_error(req(server, stranger, "GET", "/boards/%d/export" % bid), 404, "not_found")
    tb.assert_error(req(server, owner, "GET", "/boards/999999999/export"), 404, "not_found")
    tb.assert_status(req(server, owner, "DELETE", "/boards/%d" % bid), 204)
    tb.assert_error(req(server, owner, "GET", "/boards/%d/export" % bid), 404, "not_found")


def boards_of(server, user):
    return len(tb.assert_status(req(server, user, "GET", "/boards"), 200)["boards"])


def test_bad_documents_get_their_exact_status_and_change_nothing(server):
    owner, other = tb.new_user(server, "ex"), tb.new_user(server, "ex")
    bid, _ = busy_board(server, owner, other)
    good = json.loads(export(server, owner, bid))
    before = boards_of(server, owner)
    ev = good["events"]
    upd = next(i for i, e in enumerate(ev) if e["type"] == "item.updated")
    first_note = good["notes"][0]

    def mutated(f):
        d = copy.deepcopy(good)
        f(d)
        return d

    cases = [
        (lambda d: d.update(version=2), "version"),
        (lambda d: d.update(version="1"), "version"),
        (lambda d: d.update(format="trello"), "format"),
        (lambda d: d.update(exported_at="yesterday"), "exported_at"),
        (lambda d: d["board"].update(title=5), "board.title"),
        (lambda d: d["board"].update(title="x" * 201), "board.title"),
        (lambda d: d["board"].pop("last_seq"), "board.last_seq"),
        (lambda d: d["board"].update(extra=1), "board.extra"),
        (lambda d: d.update(notes={}), "notes"),
        (lambda d: d["notes"][0].update(text="x" * 10001), "notes[0].text"),
        (lambda d: d["notes"][0].update(text="bell\u0007"), "notes[0].text"),
        (lambda d: d["notes"][0].update(color="red"), "notes[0].color"),
        (lambda d: d["notes"][0].update(x=1.5), "notes[0].x"),
        (lambda d: d["notes"][0].update(width=10), "notes[0].width"),
        (lambda d: d["notes"][0].update(id=0), "notes[0].id"),
        (lambda d: d["notes"][0].update(updated_at="2026-13-01T00:00:00Z"), "notes[0].updated_at"),
        (lambda d: d["notes"][0].update(colour="#ffffff"), "notes[0].colour"),
        (lambda d: d["notes"].append(copy.deepcopy(d["notes"][0])), "notes[%d].id" % len(good["notes"])),
        (lambda d: d["notes"][0].update(text="not what the history says"), "notes: note %d differs" % first_note["id"]),
        (lambda d: d["notes"].pop(0), "notes: note %d is left" % first_note["id"]),
        (lambda d: d["notes"].append(dict(first_note, id=first_note["id"] + 10 ** 9)), "notes: note"),
        (lambda d: d["events"][1].update(seq=5), "events[1].seq"),
        (lambda d: d["events"].pop(), "events: the last event"),
        (lambda d: d["events"][0].update(type="item.moved"), "events[0].type"),
        (lambda d: d["events"][0].update(at=12), "events[0].at"),
        (lambda d: d["events"][0].update(actor=""), "events[0].actor"),
        (lambda d: d["events"][0].update(board={"version": 1}), "events[0].board"),
        (lambda d: d["events"][0].pop("item"), "events[0].item"),
        (lambda d: d["events"][0].update(undo_of=1), "events[0].undo_of"),
        (lambda d: d["events"][1].update(step=99), "events[1].step"),
        (lambda d: d["events"][upd].update(changed=["text", "text"]), "events[%d].changed" % upd),
        (lambda d: d["events"][upd].update(before={"id": 1}), "events[%d].before.id" % upd),
        (lambda d: d["events"][upd]["item"].update(id=first_note["id"] + 10 ** 9),
         "events[%d].item.id" % upd),
        (lambda d: d["events"][0].update(restored=False), "events[0].restored"),
        (lambda d: d["events"][0]["item"].update(height=5000), "events[0].item.height"),
        (lambda d: d.pop("events"), "events: is required"),
        (lambda d: d.update(extra=1), "extra"),
    ]
    for f, field in cases:
        resp = import_doc(server, owner, mutated(f))
        assert resp.status == 422, (field, resp)
        tb.assert_error(resp, 422, "invalid", field)
    # Members out of order: board before format.
    text = json.dumps(good, separators=(",", ":"))
    swapped = '{"board":%s,%s' % (json.dumps(good["board"]), text[1:])
    tb.assert_error(import_raw(server, owner, swapped.encode()), 422, "invalid", "format")
    # A piece over 256 KiB (a note of 300,000 characters).
    big = mutated(lambda d: d["notes"][0].update(text="y" * 300000))
    tb.assert_error(import_doc(server, owner, big), 422, "invalid", "notes[0]: must be at most 262144 bytes")
    # Not JSON, anywhere: 400.
    for raw in (b"", b"[]", b"{", b'{"format":"teamboard-export"', text.encode() + b" x",
                text.replace('"notes":[', '"notes":[,').encode(), b'{"format":"teamboard-export",}',
                text.replace('"events":[', '"events":[{"seq":1,}').encode(), b"\xff" + text.encode()):
        tb.assert_error(import_raw(server, owner, raw), 400, "bad_json")
    tb.assert_error(import_raw(server, owner, text.encode(), headers={"Content-Type": "text/plain"}),
                    415, "unsupported_media_type")
    # Over max_import by its Content-Length: 413 before a byte is read.
    tb.assert_error(import_raw(server, owner, b"{}", headers={"Content-Length": str(16 * 1024 * 1024 + 1)}),
                    413, "too_large")
    assert boards_of(server, owner) == before


def held_replies(server):
    """teamboard_workers_held{kind="reply"} of this host (GET /metrics from 127.0.0.1)."""
    body = tb.request(server, "GET", "/metrics").body.decode()
    m = re.search(r'^teamboard_workers_held\{host="[^"]*",kind="reply"\} (\d+)$', body, re.M)
    return int(m.group(1)) if m else None


def test_a_download_cut_off_midway_frees_its_worker(server):
    """A client that reads the start of a large export and leaves: the worker's next write fails
    and it logs the cut (lib/api_export.c: it reads and drops the page it had asked for, then rolls
    back) and is free at once: its large-reply slot is released, every REST worker answers and the
    next export comes whole. The request goes straight to the REST pool's FastCGI socket, as a web server that
    passes replies on unbuffered would send it (lighttpd buffers a reply whole, so its worker never
    sees a client leave: test_hostile.hold_large_reply does the same). Behind lighttpd only, as the
    whole module runs (dev.sh)."""
    from test_history import fill_log
    from test_transport_limits import FCGI_BEGIN, FCGI_PARAMS, FCGI_STDIN, fcgi_params, fcgi_record
    owner = tb.new_user(server, "exc")
    bid = tb.create_board(server, owner)["id"]
    fill_log(server, bid, 20000, 500, owner.id)  # megabytes of JSON: far more than the socket buffers
    log = server.logs["workers.log"]
    before = os.path.getsize(log)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(server.api_socket)
    params = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/api/v1/boards/%d/export" % bid, "SCRIPT_NAME": "/api",
              "REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": "Bearer " + owner.token,
              "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "%s:%d" % (server.host, server.port)}
    s.sendall(fcgi_record(FCGI_BEGIN, struct.pack("!HB5x", 1, 0)) + fcgi_record(FCGI_PARAMS, fcgi_params(params)) +
              fcgi_record(FCGI_PARAMS, b"") + fcgi_record(FCGI_STDIN, b""))
    got = b""
    while len(got) < 65536:
        chunk = s.recv(65536)
        assert chunk, "the export ended after %d bytes" % len(got)
        got += chunk
    assert b"Status: 200" in got[:4096] and b'"format":' in got, got[:300]
    s.close()
    cut = "export of board %d cut short: the client went away" % bid

    def logged():
        with open(log, errors="replace") as f:
            f.seek(before)
            return f.read()
    assert tb.wait_for(lambda: cut in logged(), timeout=tb.seconds(10)), "no %r in workers.log" % cut
    assert "database failure" not in logged()
    assert tb.wait_for(lambda: held_replies(server) == 0, timeout=tb.seconds(5)), held_replies(server)
    for _ in range(8):  # every REST worker (4) answers, twice
        tb.assert_status(tb.request(server, "GET", "/health", timeout=5), 200)
    doc = json.loads(export(server, owner, bid))
    assert [e["seq"] for e in doc["events"]] == list(range(1, 20001))
