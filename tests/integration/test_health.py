"""GET /health: no authentication, database state, the JSON conventions every reply follows."""

import tbclient as tb


def test_health_ok_without_auth(server):
    resp = tb.request(server, "GET", "/health")
    doc = tb.assert_status(resp, 200)
    assert doc == {"status": "ok", "database": "ok"}


def test_health_ignores_a_forged_session(server):
    # /health takes no authentication, so credentials that are not valid do not matter.
    resp = tb.request(server, "GET", "/health", token="0" * 64)
    assert tb.assert_status(resp, 200) == {"status": "ok", "database": "ok"}


def test_health_wrong_method_405_with_allow(server):
    resp = tb.request(server, "POST", "/health", body={})
    tb.assert_error(resp, 405, "method_not_allowed")
    allow = {m.strip() for m in (resp.header("Allow") or "").split(",")}
    assert "GET" in allow and "POST" not in allow, resp.header("Allow")


def test_error_replies_are_json_no_store(server):
    resp = tb.request(server, "GET", "/no-such-route")
    doc = tb.assert_error(resp, 404, "not_found")
    assert set(doc) == {"error"} and set(doc["error"]) == {"code", "message"}


def test_many_requests_in_a_row(server):
    # More requests than any sensible worker pool: every worker answers, none is stuck.
    for _ in range(40):
        resp = tb.request(server, "GET", "/health", timeout=tb.seconds(10))
        assert resp.status == 200, resp
