"""Sign-in throttling (POST /sessions): per account and per client address (REMOTE_ADDR), after
login_max_failures failed sign-ins within login_window seconds, 429 too_many_attempts with
Retry-After (60 s, doubling with each failure past the limit, at most 900 s), also for the right
password, and without checking the password at all. The counters are rows of
teamboard.login_throttle, so every web host shares them; login_max_failures = 0 turns it off.

Every client address of this file is another loopback address (127.0.0.2 and up: the whole of
127.0.0.0/8 is loopback on Linux, and the web server sees the socket's source as REMOTE_ADDR), so
the session's usual 127.0.0.1 is never throttled for the tests that follow; the table is emptied
before and after each test.
"""

import concurrent.futures
import statistics
import time

import pytest

import tbclient as tb

LIMIT = 10       # login_max_failures' default, which the test server runs with
BASE = 60        # the first block, in seconds
CAP = 900


@pytest.fixture(autouse=True)
def clean(server):
    server.sql("DELETE FROM teamboard.login_throttle")
    yield
    server.sql("DELETE FROM teamboard.login_throttle")


def attempt(server, name, password, source):
    return tb.request(server, "POST", "/sessions", {"name": name, "password": password},
                      source=source)


def assert_throttled(resp, at_most=CAP):
    doc = tb.assert_error(resp, 429, "too_many_attempts")
    retry = resp.header("Retry-After")
    assert retry is not None and retry.isdigit(), resp.headers.items()
    assert 1 <= int(retry) <= at_most, retry
    assert doc["error"]["message"] == "too many failed sign-ins; try again in %s s" % retry, doc
    assert not [c for c in resp.header_all("Set-Cookie") if "Max-Age=0" not in c], resp.headers.items()
    return int(retry), doc


def fail(server, name, source, n):
    for i in range(n):
        tb.assert_error(attempt(server, name, "wrong password %d" % i, source), 401,
                        "invalid_credentials")


def test_right_password_after_ten_wrong_is_429_with_retry_after(server):
    _, name, password = tb.register(server)
    fail(server, name, "127.0.0.2", LIMIT)
    retry, _ = assert_throttled(attempt(server, name, password, "127.0.0.2"))
    assert BASE - 5 <= retry <= BASE, retry
    # Not a session: the right password did not sign in.
    assert server.sql("SELECT count(*) FROM teamboard.sessions s JOIN teamboard.users u"
                      " ON u.id = s.user_id WHERE u.name = %s", (name,)) == [(0,)]


def test_throttled_account_is_throttled_from_any_address(server):
    _, name, password = tb.register(server)
    for i in range(LIMIT):  # ten addresses, one failure each: no address reaches the limit
        fail(server, name, "127.0.0.%d" % (10 + i), 1)
    assert_throttled(attempt(server, name, password, "127.0.0.30"))
    # 127.0.0.30 itself is not throttled: another account signs in from it.
    _, other, other_pw = tb.register(server)
    tb.assert_status(attempt(server, other, other_pw, "127.0.0.30"), 201)


def test_throttled_address_does_not_lock_the_account_out_elsewhere(server):
    _, name, password = tb.register(server)
    fail(server, name, "127.0.0.3", 3)
    for i in range(LIMIT - 3):  # the rest on names that do not exist: they count for the address
        fail(server, tb.unique("ghost"), "127.0.0.3", 1)
    assert_throttled(attempt(server, name, password, "127.0.0.3"))
    assert_throttled(attempt(server, tb.unique("ghost"), "whatever1", "127.0.0.3"))
    tb.assert_status(attempt(server, name, password, "127.0.0.4"), 201)


def test_success_clears_the_accounts_counter_not_the_addresses(server):
    _, name, password = tb.register(server)
    fail(server, name, "127.0.0.5", LIMIT - 1)
    tb.assert_status(attempt(server, name, password, "127.0.0.6"), 201)
    # The account starts again from zero ...
    fail(server, name, "127.0.0.7", LIMIT - 1)
    tb.assert_status(attempt(server, name, password, "127.0.0.7"), 201)
    # ... but 127.0.0.5 keeps its nine: one more failure from it, and it is throttled.
    fail(server, tb.unique("ghost"), "127.0.0.5", 1)
    assert_throttled(attempt(server, name, password, "127.0.0.5"))


def test_a_success_does_not_count_against_the_address(server):
    # Many people behind one address (an office's NAT) sign in all day.
    users = [tb.register(server) for _ in range(LIMIT + 2)]
    for _, name, password in users:
        tb.assert_status(attempt(server, name, password, "127.0.0.8"), 201)
    rows = server.sql("SELECT failures FROM teamboard.login_throttle"
                      " WHERE kind = 'address' AND key = '127.0.0.8'")
    assert rows in ([], [(0,)]), rows


def test_throttled_answers_do_not_check_the_password(server):
    _, name, password = tb.register(server)
    wrong = [attempt(server, name, "wrong password", "127.0.0.9") for _ in range(LIMIT)]
    for r in wrong:
        tb.assert_error(r, 401, "invalid_credentials")
    throttled = [attempt(server, name, password if i % 2 else "wrong password", "127.0.0.9") for i in range(LIMIT)]
    for r in throttled:
        assert_throttled(r)
    # A yescrypt check costs tens of ms of CPU; a throttled answer is one small statement.
    assert statistics.median(r.elapsed for r in throttled) < statistics.median(r.elapsed for r in wrong), \
        ([r.elapsed for r in wrong], [r.elapsed for r in throttled])
    # Throttled attempts do not count as more failures: still the first block.
    rows = server.sql("SELECT failures FROM teamboard.login_throttle WHERE kind = 'account' AND key = lower(%s)",
                      (name,))
    assert rows == [(LIMIT,)], rows


def test_retry_after_doubles_past_the_limit_up_to_15_minutes(server):
    _, name, password = tb.register(server)
    fail(server, name, "127.0.0.11", LIMIT)
    expect = BASE
    for _ in range(6):
        retry, _ = assert_throttled(attempt(server, name, password, "127.0.0.11"))
        assert expect - 5 <= retry <= expect, (retry, expect)
        # As if the block had run out (but not the window): the next failure blocks twice as long.
        server.sql("UPDATE teamboard.login_throttle SET blocked_until = now() - interval '1 second'")
        fail(server, name, "127.0.0.11", 1)
        expect = min(2 * expect, CAP)
    assert expect == CAP
    retry, _ = assert_throttled(attempt(server, name, password, "127.0.0.11"))
    assert CAP - 5 <= retry <= CAP, retry


def test_concurrent_guesses_get_no_more_than_the_limit(server):
    _, name, password = tb.register(server)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        resps = list(pool.map(lambda i: attempt(server, name, "guess %03d" % i, "127.0.0.12"), range(36)))
    statuses = sorted(r.status for r in resps)
    assert statuses.count(401) == LIMIT and statuses.count(429) == 36 - LIMIT, \
        [(r.status, r.body[:100]) for r in resps]


def test_a_window_that_ran_out_is_forgotten(server):
    _, name, password = tb.register(server)
    fail(server, name, "127.0.0.13", LIMIT - 1)
    # As if login_window (900 s) had passed since the first of them:
    server.sql("UPDATE teamboard.login_throttle SET window_start = window_start - interval '901 seconds'")
    fail(server, name, "127.0.0.13", LIMIT - 1)
    tb.assert_status(attempt(server, name, password, "127.0.0.13"), 201)
    # A block's end starts a window of its own: the failure after it blocks again, twice as long.
    fail(server, name, "127.0.0.14", LIMIT)
    server.sql("UPDATE teamboard.login_throttle SET window_start = window_start - interval '2000 seconds',"
               " blocked_until = now() - interval '800 seconds'")
    fail(server, name, "127.0.0.14", 1)
    retry, _ = assert_throttled(attempt(server, name, password, "127.0.0.14"))
    assert 2 * BASE - 5 <= retry <= 2 * BASE, retry


def test_zero_turns_it_off(server):
    _, name, password = tb.register(server)
    with tb.restarted(server, login_max_failures=0):
        fail(server, name, "127.0.0.15", 3 * LIMIT)
        tb.assert_status(attempt(server, name, password, "127.0.0.15"), 201)
        assert server.sql("SELECT count(*) FROM teamboard.login_throttle") == [(0,)]


def test_counters_are_shared_by_every_web_host(server):
    _, name, password = tb.register(server)
    other = server.add_host("lighttpd", "host-throttle-b")
    try:
        half = LIMIT // 2
        fail(server, name, "127.0.0.16", half)
        fail(other, name, "127.0.0.17", LIMIT - half)
        assert_throttled(attempt(server, name, password, "127.0.0.18"))
        assert_throttled(attempt(other, name, password, "127.0.0.18"))
    finally:
        problems = other.stop()
        assert not problems, problems
