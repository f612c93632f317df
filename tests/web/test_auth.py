"""Sign-in, sessions, CSRF and the sign-in rate limit, over real HTTP on both stores."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from simgate.services.accounts import create_account
from simgate.services.passwords import set_password
from tests.support.servers import LiveServer
from tests.web.helpers import PASSWORD, csrf_of, signed_in_client


@pytest.fixture
def owner(server: LiveServer, account: dict[str, Any]) -> dict[str, Any]:
    set_password(server.engine, account["login"], PASSWORD)
    return account


def login(client: httpx.Client, email: str, password: str, token: str | None) -> httpx.Response:
    data = {"email": email, "password": password}
    if token is not None:
        data["csrf_token"] = token
    return client.post("/app/login", data=data)


def test_pages_need_a_session(server: LiveServer) -> None:
    answer = server.get("/app/messages?state=sent")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app/login?next=/app/messages%3Fstate%3Dsent"


def test_sign_in_sets_a_safe_cookie_and_signs_out(server: LiveServer, owner: dict) -> None:
    with httpx.Client(base_url=server.url) as client:
        form = client.get("/app/login")
        assert form.status_code == 200
        assert 'name="email"' in form.text and 'name="password"' in form.text
        answer = login(client, owner["login"], PASSWORD, csrf_of(form.text))
        assert answer.status_code == 303 and answer.headers["location"] == "/app/"
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/app" in cookie
        assert "secure" not in cookie  # plain http on loopback
        home = client.get("/app/")
        assert home.status_code == 200 and owner["login"] in home.text
        again = client.get("/app/login?next=/app/keys")  # nothing to ask: straight on
        assert again.status_code == 303 and again.headers["location"] == "/app/keys"
        # The token changed with the session: the pre-sign-in one no longer works.
        assert csrf_of(home.text) != csrf_of(form.text)
        out = client.post("/app/logout", data={"csrf_token": csrf_of(home.text)})
        assert out.status_code == 303
        assert client.get("/app/").status_code == 303


def test_wrong_password_and_unknown_email_look_alike(server: LiveServer, owner: dict) -> None:
    with httpx.Client(base_url=server.url) as client:
        token = csrf_of(client.get("/app/login").text)
        wrong = login(client, owner["login"], "not the password", token)
        unknown = login(client, "nobody@example.com", PASSWORD, token)
        for answer in (wrong, unknown):
            assert answer.status_code == 401
            assert "Wrong e-mail address or password." in answer.text
            assert "set-cookie" not in answer.headers
        assert client.get("/app/").status_code == 303


def test_missing_or_wrong_csrf_token_is_refused(server: LiveServer, owner: dict) -> None:
    with httpx.Client(base_url=server.url) as client:
        client.get("/app/login")
        for token in (None, "", "forged"):
            answer = login(client, owner["login"], PASSWORD, token)
            assert answer.status_code == 403
            assert "CSRF" in answer.text
    with signed_in_client(server.url, owner["login"]) as client:
        answer = client.post("/app/keys", data={})
        assert answer.status_code == 403
        assert "sgk_" not in answer.text


def test_sign_in_attempts_are_limited(server: LiveServer, owner: dict) -> None:
    with httpx.Client(base_url=server.url) as client:
        token = csrf_of(client.get("/app/login").text)
        for _ in range(5):
            assert login(client, owner["login"], "guess", token).status_code == 401
        limited = login(client, owner["login"], PASSWORD, token)  # even the right one
        assert limited.status_code == 429
        assert "Too many failed sign-in attempts" in limited.text
        assert int(limited.headers["retry-after"]) > 0


def test_concurrent_wrong_passwords_are_checked_at_most_five_times(
    server: LiveServer, owner: dict
) -> None:
    """40 at once used to be checked all (limit 5 a minute): the limit counts before argon2."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        token = csrf_of(client.get("/app/login").text)
        start = threading.Barrier(40)

        def attempt(_: int) -> int:
            start.wait()
            return login(client, owner["login"], "a wrong guess", token).status_code

        with ThreadPoolExecutor(40) as pool:
            statuses = list(pool.map(attempt, range(40)))
    assert statuses.count(401) == 5  # checked, and wrong
    assert statuses.count(429) == 35  # refused before any check


def test_the_owners_browser_signs_in_while_the_email_is_hammered(
    server: LiveServer, owner: dict
) -> None:
    """OWASP device cookies: another's failures never lock out a browser that signed in."""
    with signed_in_client(server.url, owner["login"]) as browser:
        assert browser.cookies.get("simgate_device", path="/app/login")
        out = browser.post("/app/logout", data={"csrf_token": csrf_of(browser.get("/app/").text)})
        assert out.status_code == 303
        with httpx.Client(base_url=server.url) as attacker:
            token = csrf_of(attacker.get("/app/login").text)
            answers = [login(attacker, owner["login"], f"guess {i}", token) for i in range(8)]
            assert [a.status_code for a in answers] == [401] * 5 + [429] * 3
            # The e-mail is spent: even its right password, from a stranger, waits.
            assert login(attacker, owner["login"], PASSWORD, token).status_code == 429
        token = csrf_of(browser.get("/app/login").text)
        answer = login(browser, owner["login"], PASSWORD, token)
        assert answer.status_code == 303 and answer.headers["location"] == "/app/"
        assert browser.get("/app/").status_code == 200
    # A device cookie counts only for the e-mail it names.
    other, _ = create_account(server.engine, "other@example.com", password_hash=None)
    set_password(server.engine, other.email, PASSWORD)
    with signed_in_client(server.url, other.email) as theirs:
        token = csrf_of(theirs.get("/app/").text)
        theirs.post("/app/logout", data={"csrf_token": token})
        token = csrf_of(theirs.get("/app/login").text)
        assert login(theirs, owner["login"], PASSWORD, token).status_code == 429


def test_changing_the_password_ends_other_sessions(server: LiveServer, owner: dict) -> None:
    with signed_in_client(server.url, owner["login"]) as client:
        assert client.get("/app/keys").status_code == 200
        set_password(server.engine, owner["login"], "another long password")
        assert client.get("/app/keys").status_code == 303


def test_a_tampered_cookie_is_ignored(server: LiveServer, owner: dict) -> None:
    with signed_in_client(server.url, owner["login"]) as client:
        value = client.cookies.get("simgate_session")
        assert value
        client.cookies.clear()
        client.cookies.set("simgate_session", value[:-2] + "xx", path="/app")
        assert client.get("/app/").status_code == 303


# After sign-in, `next` must not leave the dashboard: short links live at the root,
# so /app/../CODE would open another account's tracked link (open redirect).
OUTSIDE = [
    "//evil.example/",
    "/app//evil.example/",
    "https://evil.example/app/",
    "/app/../CODE",
    "/app/./../CODE",
    "/app/%2e%2e/CODE",
    "/app/%2E./CODE",
    "/app/.%2e/CODE",
    "/app/%252e%252e/CODE",
    "/app/%25252e%25252e/CODE",
    "/app/%2f%2fevil.example",
    "/app\\..\\CODE",
    "/app/\\evil.example",
    "/app/.\t./CODE",
    "/app/%09../CODE",
    "/app/\r\nSet-Cookie:x=1",
    "/appx/",
    "",
]


def test_open_redirect_next_never_leaves_the_dashboard(server: LiveServer, owner: dict) -> None:
    with httpx.Client(base_url=server.url) as client:
        token = csrf_of(client.get("/app/login").text)
        answer = client.post(
            "/app/login",
            data={
                "email": owner["login"],
                "password": PASSWORD,
                "csrf_token": token,
                "next": "/app/%2e%2e/CODE",
            },
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/app/"
        # Signed in, the sign-in page sends straight on to `next`: the same check.
        for target in OUTSIDE:
            answer = client.get("/app/login", params={"next": target})
            assert answer.status_code == 303, target
            assert answer.headers["location"] == "/app/", target
        answer = client.get("/app/login", params={"next": "/app/messages?state=sent"})
        assert answer.headers["location"] == "/app/messages?state=sent"


def test_api_and_short_links_are_untouched(server: LiveServer, owner: dict) -> None:
    answer = server.post(
        "/api/v1/sendsms",
        json={
            "header": {"login": owner["login"], "accessKey": owner["accessKey"]},
            "messages": [{"phone_number": "+33612345678", "message": "hi"}],
        },
    )
    assert answer.status_code == 200 and answer.json()[0]["sent"] == 1
    assert "set-cookie" not in answer.headers
    assert server.get("/abcdefghijk").status_code == 404
