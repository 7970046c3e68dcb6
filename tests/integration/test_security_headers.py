"""What every set-up sends with the web client's files and the API's replies, for the browser: a
Content-Security-Policy that allows only the site's own scripts, styles, images and connections,
forbids framing (clickjacking: a page that frames the board and makes its user click), plugins and
<base>; nosniff; and no Referer to other sites. The web client needs nothing else: the browser
tests (tests/browser) run under this policy."""

import pytest

import tbclient as tb

CSP = ("default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")


def get(server, path):
    resp = tb.request(server, "GET", path, api=False, headers={"Accept": None}, timeout=10)
    return resp.status, resp.headers


@pytest.mark.parametrize("path", ["/", "/index.html", "/js/app.js", "/css/app.css", "/api/v1/health"])
def test_pages_and_api_carry_the_browser_policy(server, path):
    status, headers = get(server, path)
    assert status == 200, (path, status)
    assert headers.get_all("Content-Security-Policy") == [CSP], (path, headers.items())
    assert headers.get_all("X-Content-Type-Options") == ["nosniff"], (path, headers.items())
    assert headers.get_all("X-Frame-Options") == ["DENY"], (path, headers.items())
    assert headers.get_all("Referrer-Policy") == ["same-origin"], (path, headers.items())


def test_an_error_reply_carries_it_too(server):
    resp = tb.request(server, "GET", "/boards/1")
    tb.assert_error(resp, 401, "unauthorized")
    assert resp.header("Content-Security-Policy") == CSP, resp.headers
