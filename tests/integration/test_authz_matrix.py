"""The authorization matrix: every board, item, team and account route for the actors anonymous,
stranger, viewer, editor, admin and owner, with the status the contract's ROLES section gives each.

The owner creates a team (becoming its admin), adds viewer, editor and admin, and creates a board
in that team with one item. The stranger is in no team of the owner's. Destructive actions get
fresh objects for each case; a refused action is checked to have changed nothing."""

import secrets

import pytest

import tbclient as tb

ACTORS = ("anonymous", "stranger", "viewer", "editor", "admin", "owner")
ERROR_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict",
               422: "invalid"}

#                                              anon stranger viewer editor admin owner
MATRIX = {
    "GET /boards":                              (401, 200, 200, 200, 200, 200),
    "POST /boards (personal)":                  (401, 201, 201, 201, 201, 201),
    "POST /boards (team_id)":                   (401, 422, 403, 201, 201, 201),
    "GET /boards/:id":                          (401, 404, 200, 200, 200, 200),
    "PATCH /boards/:id":                        (401, 404, 403, 200, 200, 200),
    "DELETE /boards/:id":                       (401, 404, 403, 403, 204, 204),
    "POST /boards/:id/items":                   (401, 404, 403, 201, 201, 201),
    "GET /boards/:id/items/:item_id":           (401, 404, 200, 200, 200, 200),
    "PATCH /boards/:id/items/:item_id":         (401, 404, 403, 200, 200, 200),
    "DELETE /boards/:id/items/:item_id":        (401, 404, 403, 204, 204, 204),
    "GET personal /boards/:id":                 (401, 404, 404, 404, 404, 200),
    "PATCH personal /boards/:id":               (401, 404, 404, 404, 404, 200),
    "DELETE personal /boards/:id":              (401, 404, 404, 404, 404, 204),
    "POST personal /boards/:id/items":          (401, 404, 404, 404, 404, 201),
    "GET personal /boards/:id/items/:item_id":  (401, 404, 404, 404, 404, 200),
    "PATCH personal /boards/:id/items/:item_id": (401, 404, 404, 404, 404, 200),
    "DELETE personal /boards/:id/items/:item_id": (401, 404, 404, 404, 404, 204),
    "GET /teams":                               (401, 200, 200, 200, 200, 200),
    "POST /teams":                              (401, 201, 201, 201, 201, 201),
    "GET /teams/:id":                           (401, 404, 200, 200, 200, 200),
    "POST /teams/:id/members":                  (401, 404, 403, 403, 201, 201),
    "PATCH /teams/:id/members/:user_id":        (401, 404, 403, 403, 200, 200),
    "DELETE /teams/:id/members/:user_id":       (401, 404, 403, 403, 204, 204),
    "DELETE /teams/:id/members/:self (leave)":  (401, 404, 204, 204, 204, 204),
    "GET /boards/:id/trash":                    (401, 404, 200, 200, 200, 200),
    "POST /boards/:id/items/:item_id/restore":  (401, 404, 403, 200, 200, 200),
    "POST personal /boards/:id/items/:item_id/restore": (401, 404, 404, 404, 404, 200),
    "GET /trash":                               (401, 200, 200, 200, 200, 200),
    "POST /boards/:id/restore":                 (401, 404, 404, 404, 200, 200),
    "POST personal /boards/:id/restore":        (401, 404, 404, 404, 404, 200),
    # The caller's own last change (made just before, when they may make one).
    "POST /boards/:id/undo":                    (401, 404, 403, 200, 200, 200),
    "POST /boards/:id/redo":                    (401, 404, 403, 200, 200, 200),
    "POST personal /boards/:id/undo":           (401, 404, 404, 404, 404, 200),
    "POST personal /boards/:id/redo":           (401, 404, 404, 404, 404, 200),
    # Whether an undo (redo) would find something: any role on the board may ask.
    "GET /boards/:id/undo":                     (401, 404, 200, 200, 200, 200),
    # Time travel: any role on a live board; a board in the trash is 404 to everyone.
    "GET /boards/:id/history":                  (401, 404, 200, 200, 200, 200),
    "GET personal /boards/:id/history":         (401, 404, 404, 404, 404, 200),
    "GET trashed /boards/:id/history":          (401, 404, 404, 404, 404, 404),
    # Restore this version: editors and up; since your last visit: any role.
    "POST /boards/:id/history/restore":         (401, 404, 403, 200, 200, 200),
    "POST personal /boards/:id/history/restore": (401, 404, 404, 404, 404, 200),
    "GET /boards/:id/visit":                    (401, 404, 200, 200, 200, 200),
    "POST /boards/:id/visit":                   (401, 404, 200, 200, 200, 200),
    # Export: any role on a live board; import: a board of one's own, or a team editor's and up.
    "GET /boards/:id/export":                   (401, 404, 200, 200, 200, 200),
    "GET personal /boards/:id/export":          (401, 404, 404, 404, 404, 200),
    "GET trashed /boards/:id/export":           (401, 404, 404, 404, 404, 404),
    "POST /boards/import (personal)":           (401, 201, 201, 201, 201, 201),
    "POST /boards/import (team_id)":            (401, 422, 403, 201, 201, 201),
    # The caller's own account: any signed-in role may; DELETE is refused to a team's last admin
    # while the team has other members (the owner: the world's team).
    "PATCH /users/me (password)":               (401, 200, 200, 200, 200, 200),
    "PATCH /users/me (display_name)":           (401, 200, 200, 200, 200, 200),
    "DELETE /users/me":                         (401, 204, 204, 204, 204, 409),
    # No session needed: the link's token is the credential; a session changes nothing.
    "POST /password-resets/:token":             (204, 204, 204, 204, 204, 204),
    # Invite links: a team admin manages them; the link's token is the credential to read one, and
    # accepting takes a session (a fresh team of the same shape: every member but the stranger is in).
    "POST /teams/:id/invites":                  (401, 404, 403, 403, 201, 201),
    "GET /teams/:id/invites":                   (401, 404, 403, 403, 200, 200),
    "DELETE /teams/:id/invites/:invite_id":     (401, 404, 403, 403, 204, 204),
    "GET /invites/:token":                      (200, 200, 200, 200, 200, 200),
    "POST /invites/:token/accept":              (401, 201, 409, 409, 409, 409),
}
# A route whose refusal has its own code.
ROUTE_CODES = {("DELETE /users/me", 409): "last_admin", ("POST /invites/:token/accept", 409): "already_member"}

BOARD_ROLE = {"viewer": "viewer", "editor": "editor", "admin": "admin", "owner": "owner"}


@pytest.fixture(scope="module")
def world(server):
    w = {a: tb.new_user(server, a[:3]) for a in ACTORS if a != "anonymous"}
    w["anonymous"] = None
    owner = w["owner"]
    w["team"] = tb.create_team(server, owner)
    for role in ("viewer", "editor", "admin"):
        tb.add_member(server, owner, w["team"]["id"], w[role], role)
    w["board"] = tb.create_board(server, owner, team_id=w["team"]["id"])
    w["item"] = tb.create_item(server, owner, w["board"]["id"], text="shared")
    w["personal"] = tb.create_board(server, owner)
    w["pitem"] = tb.create_item(server, owner, w["personal"]["id"], text="private")
    w["trashed"] = tb.create_board(server, owner, team_id=w["team"]["id"])
    tb.assert_status(req(server, owner, "DELETE", "/boards/%d" % w["trashed"]["id"]), 204)
    return w


def req(server, user, method, path, body=None):
    return tb.request(server, method, path, body=body, token=user.token if user else None)


def board_state(server, board_id):
    """A live board's state ([] once it is in the trash or gone)."""
    return server.sql("SELECT title, version FROM teamboard.boards WHERE id = %s AND deleted_at IS NULL",
                      (board_id,))


def item_state(server, item_id):
    return server.sql("SELECT text, x, version FROM teamboard.items WHERE id = %s", (item_id,))


def board_seq(server, board_id):
    return server.sql("SELECT last_seq FROM teamboard.boards WHERE id = %s", (board_id,))


def members(server, team_id):
    return sorted(server.sql("SELECT user_id, role FROM teamboard.team_members WHERE team_id = %s",
                             (team_id,)))


def fresh_team(server, w):
    """A team shaped like world's: owner (admin), viewer, editor, admin."""
    team = tb.create_team(server, w["owner"])
    for role in ("viewer", "editor", "admin"):
        tb.add_member(server, w["owner"], team["id"], w[role], role)
    return team


def watch(fn):
    """Runs fn() now and returns a check that it gives the same later."""
    before = fn()
    return lambda: fn() == before


# Each action runs the request and returns (response, check that nothing changed, check of success).

def a_list_boards(server, w, user):
    resp = req(server, user, "GET", "/boards")

    def ok(doc):
        ids = {b["id"] for b in doc["boards"]}
        shared = w["board"]["id"] in ids
        personal = w["personal"]["id"] in ids
        expect_shared = user is not w["stranger"]
        expect_personal = user is w["owner"]
        return shared == expect_shared and personal == expect_personal
    return resp, lambda: True, ok


def a_create_personal(server, w, user):
    title = tb.unique("p")
    resp = req(server, user, "POST", "/boards", {"title": title})
    unchanged = lambda: server.sql("SELECT count(*) FROM teamboard.boards WHERE title = %s",
                                   (title,)) == [(0,)]
    return resp, unchanged, lambda doc: doc["team_id"] is None and doc["role"] == "owner"


def a_create_team_board(server, w, user):
    title = tb.unique("t")
    resp = req(server, user, "POST", "/boards", {"title": title, "team_id": w["team"]["id"]})
    unchanged = lambda: server.sql("SELECT count(*) FROM teamboard.boards WHERE title = %s",
                                   (title,)) == [(0,)]
    return resp, unchanged, lambda doc: doc["team_id"] == w["team"]["id"] and doc["role"] == "owner"


def board_actions(which):
    def get(server, w, user):
        b = w[which]
        resp = req(server, user, "GET", "/boards/%d" % b["id"])
        return resp, lambda: True, lambda doc: (doc["id"] == b["id"] and
                                                doc["role"] == BOARD_ROLE[actor_of(w, user)])

    def patch(server, w, user):
        b = w[which]
        check = watch(lambda: board_state(server, b["id"]))
        title = tb.unique("renamed")
        resp = req(server, user, "PATCH", "/boards/%d" % b["id"], {"title": title})
        return resp, check, lambda doc: doc["title"] == title

    def delete(server, w, user):
        fresh = tb.create_board(server, w["owner"],
                                team_id=w["team"]["id"] if which == "board" else None)
        check = watch(lambda: board_state(server, fresh["id"]))
        resp = req(server, user, "DELETE", "/boards/%d" % fresh["id"])
        return resp, check, lambda doc: board_state(server, fresh["id"]) == []

    def create_item(server, w, user):
        b = w[which]
        text = tb.unique("note")
        resp = req(server, user, "POST", "/boards/%d/items" % b["id"], {"text": text})
        unchanged = lambda: server.sql("SELECT count(*) FROM teamboard.items WHERE text = %s",
                                       (text,)) == [(0,)]
        return resp, unchanged, lambda doc: doc["text"] == text and doc["board_id"] == b["id"]

    def get_item(server, w, user):
        b, i = w[which], w["item" if which == "board" else "pitem"]
        resp = req(server, user, "GET", "/boards/%d/items/%d" % (b["id"], i["id"]))
        return resp, lambda: True, lambda doc: doc["id"] == i["id"]

    def patch_item(server, w, user):
        b, i = w[which], w["item" if which == "board" else "pitem"]
        check = watch(lambda: item_state(server, i["id"]))
        resp = req(server, user, "PATCH", "/boards/%d/items/%d" % (b["id"], i["id"]), {"x": 7})
        return resp, check, lambda doc: doc["x"] == 7 and doc["text"] == i["text"]

    def delete_item(server, w, user):
        b = w[which]
        fresh = tb.create_item(server, w["owner"], b["id"])
        check = watch(lambda: item_state(server, fresh["id"]))
        resp = req(server, user, "DELETE", "/boards/%d/items/%d" % (b["id"], fresh["id"]))
        return resp, check, lambda doc: item_state(server, fresh["id"]) == []

    def trash(server, w, user):
        b = w[which]
        resp = req(server, user, "GET", "/boards/%d/trash" % b["id"])
        return resp, lambda: True, lambda doc: isinstance(doc["trash"], list) and doc["more"] is False

    def restore_item(server, w, user):
        b = w[which]
        fresh = tb.create_item(server, w["owner"], b["id"])
        tb.assert_status(req(server, w["owner"], "DELETE", "/boards/%d/items/%d" % (b["id"], fresh["id"])), 204)
        check = watch(lambda: item_state(server, fresh["id"]))
        resp = req(server, user, "POST", "/boards/%d/items/%d/restore" % (b["id"], fresh["id"]))
        return resp, check, lambda doc: doc["id"] == fresh["id"] and item_state(server, fresh["id"]) != []

    def restore(server, w, user):
        fresh = tb.create_board(server, w["owner"],
                                team_id=w["team"]["id"] if which == "board" else None)
        tb.assert_status(req(server, w["owner"], "DELETE", "/boards/%d" % fresh["id"]), 204)
        check = watch(lambda: board_state(server, fresh["id"]))
        resp = req(server, user, "POST", "/boards/%d/restore" % fresh["id"])
        return resp, check, lambda doc: doc["id"] == fresh["id"] and board_state(server, fresh["id"]) != []

    def undo_redo(route):
        def action(server, w, user):
            b = w[which]
            note = None
            if user is w["owner"] or (which == "board" and user in (w["editor"], w["admin"])):
                note = tb.create_item(server, user, b["id"])
                if route == "redo":
                    tb.assert_status(req(server, user, "POST", "/boards/%d/undo" % b["id"]), 200)
            check = watch(lambda: board_seq(server, b["id"]))
            resp = req(server, user, "POST", "/boards/%d/%s" % (b["id"], route))
            gone = route == "undo"  # an undo of the create deletes the note, its redo brings it back
            return resp, check, lambda doc: note is not None and (item_state(server, note["id"]) == []) == gone
        return action

    def history(server, w, user):
        b = w[which]
        resp = req(server, user, "GET", "/boards/%d/history?seq=1" % b["id"])
        return resp, lambda: True, lambda doc: doc["id"] == b["id"] and doc["seq"] == 1 and len(doc["items"]) == 1

    return (get, patch, delete, create_item, get_item, patch_item, delete_item, trash, restore_item, restore,
            undo_redo("undo"), undo_redo("redo"), history)


def a_undo_state(server, w, user):
    resp = req(server, user, "GET", "/boards/%d/undo" % w["board"]["id"])
    return resp, lambda: True, lambda doc: set(doc) == {"can_undo", "can_redo"}


def a_trashed_history(server, w, user):
    resp = req(server, user, "GET", "/boards/%d/history?seq=0" % w["trashed"]["id"])
    return resp, lambda: True, lambda doc: False


def a_restore_version(personal):
    def action(server, w, user):
        fresh = tb.create_board(server, w["owner"], team_id=None if personal else w["team"]["id"])
        tb.create_item(server, w["owner"], fresh["id"])
        seq = board_seq(server, fresh["id"])[0][0]
        later = tb.create_item(server, w["owner"], fresh["id"])
        check = watch(lambda: board_seq(server, fresh["id"]))
        resp = req(server, user, "POST", "/boards/%d/history/restore" % fresh["id"], {"seq": seq})
        return resp, check, lambda doc: doc["restored"] == seq and item_state(server, later["id"]) == []
    return action


def visits(server, user):
    return server.sql("SELECT board_id, seq FROM teamboard.board_visits WHERE user_id = %s",
                      (user.id if user else 0,))


def a_visit(method):
    def action(server, w, user):
        b = w["board"]
        check = watch(lambda: visits(server, user))
        resp = req(server, user, method, "/boards/%d/visit" % b["id"], {"seq": 1} if method == "POST" else None)
        return resp, check, lambda doc: (doc["last_event_id"] == board_seq(server, b["id"])[0][0] and
                                         doc["seq"] == (1 if method == "POST" else doc["seq"]))
    return action


def an_export(which):
    def action(server, w, user):
        resp = req(server, user, "GET", "/boards/%d/export" % w[which]["id"])
        return resp, lambda: True, lambda doc: doc["format"] == "teamboard-export" and doc["version"] == 1

    return action


IMPORT_NOTE = {"id": 1, "text": "imported", "color": "#fff59d", "x": 0, "y": 0, "width": 200, "height": 150,
               "z": 0, "author": None, "version": 1, "created_at": "2026-12-04T10:00:00+00:00",
               "updated_at": "2026-12-04T10:00:00+00:00"}
IMPORT_DOC = {"format": "teamboard-export", "version": 1, "exported_at": "2026-12-04T10:00:00+00:00",
              "board": {"title": "imported", "version": 1, "last_seq": 1, "created_at": "2026-12-04T10:00:00+00:00",
                        "updated_at": "2026-12-04T10:00:00+00:00"},
              "notes": [IMPORT_NOTE],
              "events": [{"seq": 1, "type": "item.created", "at": "2026-12-04T10:00:00+00:00", "actor": None,
                          "step": 1, "item": IMPORT_NOTE}]}


def an_import(team):
    def action(server, w, user):
        team_id = w["team"]["id"] if team else None
        check = watch(lambda: server.sql("SELECT count(*) FROM teamboard.boards"))
        resp = req(server, user, "POST", "/boards/import" + ("?team_id=%d" % team_id if team else ""), IMPORT_DOC)
        return resp, check, lambda doc: (doc["title"] == "imported" and doc["team_id"] == team_id
                                         and doc["imported"] == {"notes": 1, "events": 1})

    return action


def actor_of(w, user):
    for a in ACTORS:
        if w[a] is user:
            return a
    raise AssertionError(user)


def a_list_trash(server, w, user):
    resp = req(server, user, "GET", "/trash")

    def ok(doc):
        listed = w["trashed"]["id"] in {b["id"] for b in doc["boards"]}
        return listed == (actor_of(w, user) in ("admin", "owner"))
    return resp, lambda: True, ok


def a_list_teams(server, w, user):
    resp = req(server, user, "GET", "/teams")

    def ok(doc):
        roles = {t["id"]: t["role"] for t in doc["teams"]}
        a = actor_of(w, user)
        if a == "stranger":
            return w["team"]["id"] not in roles
        return roles.get(w["team"]["id"]) == ("admin" if a == "owner" else a)
    return resp, lambda: True, ok


def a_create_team(server, w, user):
    name = tb.unique("team")
    resp = req(server, user, "POST", "/teams", {"name": name})
    unchanged = lambda: server.sql("SELECT count(*) FROM teamboard.teams WHERE name = %s",
                                   (name,)) == [(0,)]
    return resp, unchanged, lambda doc: doc["role"] == "admin" and doc["name"] == name


def a_get_team(server, w, user):
    resp = req(server, user, "GET", "/teams/%d" % w["team"]["id"])
    return resp, lambda: True, lambda doc: len(doc["members"]) == 4


def a_add_member(server, w, user):
    target = tb.new_user(server, "tgt")
    tid = w["team"]["id"]
    check = watch(lambda: members(server, tid))
    resp = req(server, user, "POST", "/teams/%d/members" % tid, {"name": target.name, "role": "viewer"})
    return resp, check, lambda doc: doc["user_id"] == target.id and doc["role"] == "viewer"


def a_change_role(server, w, user):
    target = tb.new_user(server, "tgt")
    tid = w["team"]["id"]
    tb.add_member(server, w["owner"], tid, target, "viewer")
    check = watch(lambda: members(server, tid))
    resp = req(server, user, "PATCH", "/teams/%d/members/%d" % (tid, target.id), {"role": "editor"})
    return resp, check, lambda doc: doc["user_id"] == target.id and doc["role"] == "editor"


def a_remove_member(server, w, user):
    target = tb.new_user(server, "tgt")
    tid = w["team"]["id"]
    tb.add_member(server, w["owner"], tid, target, "viewer")
    check = watch(lambda: members(server, tid))
    resp = req(server, user, "DELETE", "/teams/%d/members/%d" % (tid, target.id))
    return resp, check, lambda doc: target.id not in dict(members(server, tid))


def a_leave(server, w, user):
    team = fresh_team(server, w)
    tid = team["id"]
    check = watch(lambda: members(server, tid))
    # The anonymous request names some member; everyone else names themself.
    uid = (user or w["viewer"]).id
    resp = req(server, user, "DELETE", "/teams/%d/members/%d" % (tid, uid))
    return resp, check, lambda doc: uid not in dict(members(server, tid))


def a_change_password(server, w, user):
    # The same password again: the world's users keep theirs (and their one session).
    password = user.password if user else "any password"
    hash_of = lambda: server.sql("SELECT password_hash FROM teamboard.users WHERE id = %s",
                                 ((user or w["viewer"]).id,))
    check = watch(hash_of)
    resp = req(server, user, "PATCH", "/users/me", {"password": {"current": password, "new": password}})
    return resp, check, lambda doc: doc["id"] == user.id and not check()


def a_set_display_name(server, w, user):
    # The display name it has: the world's users keep theirs.
    name_of = lambda: server.sql("SELECT display_name FROM teamboard.users WHERE id = %s",
                                 ((user or w["viewer"]).id,))
    current = name_of()[0][0]
    check = watch(name_of)
    resp = req(server, user, "PATCH", "/users/me", {"display_name": current})
    return resp, check, lambda doc: doc["id"] == user.id and doc["display_name"] == current and check()


def a_delete_account(server, w, user):
    """A stand-in for the actor (the world's users stay): a fresh user with the actor's role in a
    team of the owner's; for the owner, the only admin of a team with another member."""
    a = "anonymous" if user is None else actor_of(w, user)
    stand = tb.new_user(server, "del")
    if a == "owner":
        team = tb.create_team(server, stand)
        tb.add_member(server, stand, team["id"], w["viewer"], "viewer")
    elif a in ("viewer", "editor", "admin"):
        tb.add_member(server, w["owner"], w["team"]["id"], stand, a)
    exists = lambda: server.sql("SELECT count(*) FROM teamboard.users WHERE id = %s", (stand.id,))
    check = watch(exists)
    resp = tb.request(server, "DELETE", "/users/me", {"password": stand.password},
                      token=stand.token if user else None)
    return resp, check, lambda doc: exists() == [(0,)]


def a_password_reset(server, w, user):
    """A reset link of a fresh user (made as teamboard-admin makes one), used with the actor's
    session or none."""
    target = tb.new_user(server, "rst")
    token = secrets.token_hex(32)
    server.sql("INSERT INTO teamboard.password_resets (token_hash, user_id, expires_at)"
               " VALUES (sha256(decode(%s, 'hex')), %s, now() + interval '1 hour')", (token, target.id))
    resp = req(server, user, "POST", "/password-resets/" + token, {"password": "chosen by link"})
    used = lambda: server.sql("SELECT used_at IS NOT NULL FROM teamboard.password_resets"
                              " WHERE token_hash = sha256(decode(%s, 'hex'))", (token,))
    return resp, lambda: used() == [(False,)], lambda doc: used() == [(True,)]


def invites_of(server, team_id):
    return server.sql("SELECT id, uses FROM teamboard.team_invites WHERE team_id = %s ORDER BY id", (team_id,))


def new_invite(server, w, team_id, role="viewer"):
    resp = req(server, w["owner"], "POST", "/teams/%d/invites" % team_id, {"role": role, "max_uses": 5})
    return tb.assert_status(resp, 201)


def a_create_invite(server, w, user):
    tid = w["team"]["id"]
    check = watch(lambda: invites_of(server, tid))
    resp = req(server, user, "POST", "/teams/%d/invites" % tid, {"role": "editor"})
    return resp, check, lambda doc: doc["role"] == "editor" and doc["team_id"] == tid and len(doc["token"]) == 64


def a_list_invites(server, w, user):
    tid = w["team"]["id"]
    inv = new_invite(server, w, tid)
    resp = req(server, user, "GET", "/teams/%d/invites" % tid)
    return resp, lambda: True, lambda doc: inv["id"] in {i["id"] for i in doc["invites"]}


def a_revoke_invite(server, w, user):
    tid = w["team"]["id"]
    inv = new_invite(server, w, tid)
    check = watch(lambda: invites_of(server, tid))
    resp = req(server, user, "DELETE", "/teams/%d/invites/%d" % (tid, inv["id"]))
    return resp, check, lambda doc: inv["id"] not in dict(invites_of(server, tid))


def a_show_invite(server, w, user):
    inv = new_invite(server, w, w["team"]["id"], "editor")
    resp = req(server, user, "GET", "/invites/" + inv["token"])
    return resp, lambda: True, lambda doc: doc["team"]["id"] == w["team"]["id"] and doc["role"] == "editor"


def a_accept_invite(server, w, user):
    team = fresh_team(server, w)
    tid = team["id"]
    inv = new_invite(server, w, tid)
    check = watch(lambda: (members(server, tid), invites_of(server, tid)))
    resp = req(server, user, "POST", "/invites/%s/accept" % inv["token"])
    return resp, check, lambda doc: doc["id"] == tid and dict(members(server, tid)).get(user.id) == "viewer"


_team = board_actions("board")
_personal = board_actions("personal")
ACTIONS = {
    "GET /boards": a_list_boards,
    "POST /boards (personal)": a_create_personal,
    "POST /boards (team_id)": a_create_team_board,
    "GET /boards/:id": _team[0],
    "PATCH /boards/:id": _team[1],
    "DELETE /boards/:id": _team[2],
    "POST /boards/:id/items": _team[3],
    "GET /boards/:id/items/:item_id": _team[4],
    "PATCH /boards/:id/items/:item_id": _team[5],
    "DELETE /boards/:id/items/:item_id": _team[6],
    "GET personal /boards/:id": _personal[0],
    "PATCH personal /boards/:id": _personal[1],
    "DELETE personal /boards/:id": _personal[2],
    "POST personal /boards/:id/items": _personal[3],
    "GET personal /boards/:id/items/:item_id": _personal[4],
    "PATCH personal /boards/:id/items/:item_id": _personal[5],
    "DELETE personal /boards/:id/items/:item_id": _personal[6],
    "GET /teams": a_list_teams,
    "POST /teams": a_create_team,
    "GET /teams/:id": a_get_team,
    "POST /teams/:id/members": a_add_member,
    "PATCH /teams/:id/members/:user_id": a_change_role,
    "DELETE /teams/:id/members/:user_id": a_remove_member,
    "DELETE /teams/:id/members/:self (leave)": a_leave,
    "GET /boards/:id/trash": _team[7],
    "POST /boards/:id/items/:item_id/restore": _team[8],
    "POST personal /boards/:id/items/:item_id/restore": _personal[8],
    "GET /trash": a_list_trash,
    "POST /boards/:id/restore": _team[9],
    "POST personal /boards/:id/restore": _personal[9],
    "POST /boards/:id/undo": _team[10],
    "POST /boards/:id/redo": _team[11],
    "POST personal /boards/:id/undo": _personal[10],
    "POST personal /boards/:id/redo": _personal[11],
    "GET /boards/:id/undo": a_undo_state,
    "GET /boards/:id/history": _team[12],
    "GET personal /boards/:id/history": _personal[12],
    "GET trashed /boards/:id/history": a_trashed_history,
    "POST /boards/:id/history/restore": a_restore_version(False),
    "POST personal /boards/:id/history/restore": a_restore_version(True),
    "GET /boards/:id/visit": a_visit("GET"),
    "POST /boards/:id/visit": a_visit("POST"),
    "GET /boards/:id/export": an_export("board"),
    "GET personal /boards/:id/export": an_export("personal"),
    "GET trashed /boards/:id/export": an_export("trashed"),
    "POST /boards/import (personal)": an_import(False),
    "POST /boards/import (team_id)": an_import(True),
    "PATCH /users/me (password)": a_change_password,
    "PATCH /users/me (display_name)": a_set_display_name,
    "DELETE /users/me": a_delete_account,
    "POST /password-resets/:token": a_password_reset,
    "POST /teams/:id/invites": a_create_invite,
    "GET /teams/:id/invites": a_list_invites,
    "DELETE /teams/:id/invites/:invite_id": a_revoke_invite,
    "GET /invites/:token": a_show_invite,
    "POST /invites/:token/accept": a_accept_invite,
}

CASES = [(route, actor, status) for route, statuses in MATRIX.items()
         for actor, status in zip(ACTORS, statuses)]


def test_matrix_covers_every_route():
    assert set(MATRIX) == set(ACTIONS)
    assert all(len(s) == len(ACTORS) for s in MATRIX.values())


@pytest.mark.parametrize("route,actor,expected", CASES,
                         ids=["%s | %s -> %d" % c for c in CASES])
def test_authz(server, world, route, actor, expected):
    resp, unchanged, succeeded = ACTIONS[route](server, world, world[actor])
    if expected >= 400:
        tb.assert_error(resp, expected, ROUTE_CODES.get((route, expected), ERROR_CODES[expected]))
        assert unchanged(), "refused request changed data"
    else:
        assert resp.status == expected, "expected %d, got %r" % (expected, resp)
        doc = tb.assert_json(resp) if resp.body else None
        assert succeeded(doc), "unexpected result: %r" % resp


# ---- public read-only links (issue 15 item 2; test_public_links.py has the rest) --------------------
import tbsse as sse  # noqa: E402
# One more actor: the link holder, who has a public link's token of the world's team board and
# sends it as its credential (Authorization: Bearer). It is no session: every route but the /public
# ones answers it as it answers no credential at all. The /public routes need no session: the
# token in the path is the credential, and a session changes nothing.

LINK_ACTORS = ("anonymous", "link holder", "stranger", "viewer", "editor", "admin", "owner")
#                                                anon link stranger viewer editor admin owner
LINK_MATRIX = {
    "POST /boards/:id/links":                     (401, 401, 404, 403, 403, 201, 201),
    "GET /boards/:id/links":                      (401, 401, 404, 403, 403, 200, 200),
    "DELETE /boards/:id/links/:link_id":          (401, 401, 404, 403, 403, 204, 204),
    "POST personal /boards/:id/links":            (401, 401, 404, 404, 404, 404, 201),
    "GET personal /boards/:id/links":             (401, 401, 404, 404, 404, 404, 200),
    "DELETE personal /boards/:id/links/:link_id": (401, 401, 404, 404, 404, 404, 204),
    "GET /public/boards/:token":                  (200, 200, 200, 200, 200, 200, 200),
    "GET /public/boards/:token/events (poll)":    (200, 200, 200, 200, 200, 200, 200),
    "GET /public/boards/:token/events (stream)":  (200, 200, 200, 200, 200, 200, 200),
}
# Every other route, tried by the link holder with its token: the anonymous column's answer (401 for
# every route that needs a session; the same answer as without a credential for those that do not).
# Not the three whose action is on the caller's own membership or account (leave, the display name,
# deleting the account): their builders need the actor's account, which a link holder has not;
# test_public_links.py::test_link_token_is_no_session sends the token to those three (401).
OWN_ACCOUNT_ROUTES = ("DELETE /teams/:id/members/:self (leave)", "PATCH /users/me (display_name)", "DELETE /users/me")
LINK_HOLDER_ROUTES = tuple(r for r in MATRIX if r not in OWN_ACCOUNT_ROUTES)


@pytest.fixture(scope="module")
def link_world(server, world):
    w = dict(world)
    link = tb.assert_status(req(server, w["owner"], "POST", "/boards/%d/links" % w["board"]["id"]), 201)
    w["link"] = link
    w["link holder"] = tb.User(0, "link-holder", "", link["token"])
    return w


def links_of(server, board_id):
    return server.sql("SELECT id FROM teamboard.board_links WHERE board_id = %s ORDER BY id", (board_id,))


def link_actions(which):
    def create(server, w, user):
        b = w[which]
        check = watch(lambda: links_of(server, b["id"]))
        resp = req(server, user, "POST", "/boards/%d/links" % b["id"])
        return resp, check, lambda doc: doc["board_id"] == b["id"] and len(doc["token"]) == 64

    def listing(server, w, user):
        b = w[which]
        resp = req(server, user, "GET", "/boards/%d/links" % b["id"])
        return resp, lambda: True, lambda doc: all("token" not in l for l in doc["links"])

    def delete(server, w, user):
        b = w[which]
        fresh = tb.assert_status(req(server, w["owner"], "POST", "/boards/%d/links" % b["id"]), 201)
        check = watch(lambda: links_of(server, b["id"]))
        resp = req(server, user, "DELETE", "/boards/%d/links/%d" % (b["id"], fresh["id"]))
        return resp, check, lambda doc: (fresh["id"],) not in links_of(server, b["id"])
    return create, listing, delete


def a_public_board(server, w, user):
    resp = req(server, user, "GET", "/public/boards/" + w["link"]["token"])
    return resp, lambda: True, lambda doc: doc["id"] == w["board"]["id"] and doc["role"] == "guest"


def a_public_poll(server, w, user):
    resp = req(server, user, "GET", "/public/boards/%s/events?after=0" % w["link"]["token"])
    return resp, lambda: True, lambda doc: [e["seq"] for e in doc["events"]][:1] == [1]


def a_public_stream(server, w, user):
    c = sse.PublicStream(server, w["board"]["id"], w["link"]["token"], token=user.token if user else None)
    try:
        c.connect()
        hello = c.wait_count(1, timeout=10)[0] if c.status == 200 else None
    finally:
        c.close()
        sse.release(server, [w["board"]["id"]])
    resp = tb.Response(c.status, c.reason, c.headers, c.body)
    return resp, lambda: True, lambda doc: hello is not None and hello.type == "hello"


_team_links = link_actions("board")
_personal_links = link_actions("personal")
LINK_ACTIONS = {
    "POST /boards/:id/links": _team_links[0],
    "GET /boards/:id/links": _team_links[1],
    "DELETE /boards/:id/links/:link_id": _team_links[2],
    "POST personal /boards/:id/links": _personal_links[0],
    "GET personal /boards/:id/links": _personal_links[1],
    "DELETE personal /boards/:id/links/:link_id": _personal_links[2],
    "GET /public/boards/:token": a_public_board,
    "GET /public/boards/:token/events (poll)": a_public_poll,
    "GET /public/boards/:token/events (stream)": a_public_stream,
}
LINK_CASES = [(route, actor, status) for route, statuses in LINK_MATRIX.items()
              for actor, status in zip(LINK_ACTORS, statuses)]


def test_link_matrix_covers_every_route():
    assert set(LINK_MATRIX) == set(LINK_ACTIONS)
    assert all(len(s) == len(LINK_ACTORS) for s in LINK_MATRIX.values())


@pytest.mark.parametrize("route,actor,expected", LINK_CASES,
                         ids=["%s | %s -> %d" % c for c in LINK_CASES])
def test_link_authz(server, link_world, route, actor, expected):
    resp, unchanged, succeeded = LINK_ACTIONS[route](server, link_world, link_world[actor])
    if expected >= 400:
        tb.assert_error(resp, expected, ERROR_CODES[expected])
        assert unchanged(), "refused request changed data"
    else:
        assert resp.status == expected, "expected %d, got %r" % (expected, resp)
        doc = tb.assert_json(resp) if resp.body else None
        assert succeeded(doc), "unexpected result: %r" % resp


@pytest.mark.parametrize("route", LINK_HOLDER_ROUTES)
def test_link_holder_on_member_routes(server, link_world, route):
    expected = MATRIX[route][ACTORS.index("anonymous")]
    resp, unchanged, _ = ACTIONS[route](server, link_world, link_world["link holder"])
    if expected >= 400:
        tb.assert_error(resp, expected, ROUTE_CODES.get((route, expected), ERROR_CODES[expected]))
        assert unchanged(), "refused request changed data"
    else:
        assert resp.status == expected, "expected %d, got %r" % (expected, resp)
