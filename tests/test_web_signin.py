"""Dashboard sign-in hardening: locks after too many failures (per user name and per
address, an unknown name alike), ``hub users unlock``, sessions in the store (revoked at
sign-out, an absolute lifetime, an idle timeout, a new session at every sign-in, ended for a
disabled user or a changed password), and one scrypt derivation whoever signs in.

Time is the dashboard's clock (:class:`Clock`), moved by the tests: nothing sleeps."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from conftest import BOTH_STORES
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.requests import Request

from hub.cli import main
from hub.engine import Hub
from hub.errors import ConfigError
from hub.settings import SignInPolicy
from hub.store import schema as t
from hub.store import signin, users
from hub.testing.fixtures import upgrade_store
from hub.web.app import create_app
from hub.web.auth import client_address
from hub.web.session import COOKIE

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LOCKED = "Sign-in is temporarily locked"


class Clock:
    """The dashboard's time, moved by hand."""

    def __init__(self):
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def hub(tmp_path, monkeypatch, master_key, store_url):
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HUB_STORE_URL", store_url)
    upgrade_store(store_url)  # as `hub db upgrade` does
    h = Hub.open()
    with h.store.transaction() as conn:
        users.set_user(conn, "viivi", PASSWORD, "viewer")
        users.set_user(conn, "olli", PASSWORD, "operator")
    yield h
    h.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(hub, clock):
    app = create_app(lambda: hub)
    app.state.dashboard.sessions.clock = clock
    return app


def attempt(client: TestClient, name: str, password: str):
    token = CSRF.search(client.get("/login").text)[1]
    return client.post("/login", data={"username": name, "password": password, "csrf": token})


def sign_in(app, name: str = "olli", **kwargs) -> TestClient:
    client = TestClient(app, **kwargs)
    response = attempt(client, name, PASSWORD)
    assert response.status_code == 200 and "Exchanges" in response.text
    return client


def token_of(app, client: TestClient) -> str:
    return app.state.dashboard.sessions.serializer.loads(client.cookies[COOKIE])["s"]


def is_signed_in(client: TestClient) -> bool:
    response = client.get("/", follow_redirects=False)
    assert response.status_code in (200, 303)
    return response.status_code == 200


def error_of(response) -> str:
    return re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text)[1]


@BOTH_STORES
def test_a_user_is_locked_after_five_failures_even_for_the_right_password(app, clock, caplog):
    client = TestClient(app)
    caplog.set_level(logging.INFO, logger="hub.web.auth")
    for _ in range(4):
        assert attempt(client, "olli", "wrong password").status_code == 401
    fifth = attempt(client, "olli", "wrong password")
    assert fifth.status_code == 429 and LOCKED in fifth.text
    assert int(fifth.headers["retry-after"]) == 900
    assert "in 15 min" in fifth.text
    refused = attempt(client, "olli", PASSWORD)
    assert refused.status_code == 429 and LOCKED in refused.text and "Exchanges" not in refused.text
    assert not is_signed_in(client)
    clock.advance(minutes=14, seconds=59)
    assert attempt(client, "olli", PASSWORD).status_code == 429
    clock.advance(seconds=1)  # the lock has ended
    assert attempt(client, "olli", PASSWORD).status_code == 200 and is_signed_in(client)

    messages = [r.getMessage() for r in caplog.records]
    assert sum("sign-in failed: user 'olli'" in m for m in messages) == 5
    assert any("sign-in locked for user 'olli' until" in m for m in messages)
    assert any("dashboard sign-in: olli" in m for m in messages)
    assert not any("wrong password" in m or PASSWORD in m for m in messages)


@BOTH_STORES
def test_a_success_resets_the_count_and_locks_in_a_row_grow_longer(app, clock):
    client = TestClient(app)
    for _ in range(4):
        assert attempt(client, "viivi", "wrong password").status_code == 401
    assert attempt(client, "viivi", PASSWORD).status_code == 200
    for _ in range(4):  # counted from zero again
        assert attempt(client, "viivi", "wrong password").status_code == 401
    assert attempt(client, "viivi", "wrong password").status_code == 429
    clock.advance(minutes=15)
    for _ in range(4):
        assert attempt(client, "viivi", "wrong password").status_code == 401
    second = attempt(client, "viivi", "wrong password")
    assert second.status_code == 429 and int(second.headers["retry-after"]) == 1800


@BOTH_STORES
def test_an_unknown_name_is_locked_alike(app):
    known, unknown = TestClient(app), TestClient(app, client=("10.0.0.9", 4000))
    answers = {}
    for client, name in ((known, "olli"), (unknown, "nobody-at-all")):
        statuses = [attempt(client, name, "wrong password").status_code for _ in range(5)]
        assert statuses == [401, 401, 401, 401, 429]
        locked = attempt(client, name, PASSWORD)
        answers[name] = (locked.status_code, locked.headers["retry-after"], error_of(locked))
    assert answers["olli"] == answers["nobody-at-all"]
    assert answers["olli"][0] == 429 and LOCKED in answers["olli"][2]


@BOTH_STORES
def test_one_address_is_locked_across_names(app):
    client = TestClient(app, client=("192.0.2.10", 5000))
    for i in range(19):  # never 5 for one name
        assert attempt(client, f"guess{i}", "wrong password").status_code == 401
    assert attempt(client, "guess19", "wrong password").status_code == 429
    assert attempt(client, "olli", PASSWORD).status_code == 429  # a real user, same address
    elsewhere = TestClient(app, client=("192.0.2.11", 5000))
    assert attempt(elsewhere, "olli", PASSWORD).status_code == 200


@BOTH_STORES
def test_hub_users_unlock_lifts_a_lock(app, capsys):
    client = TestClient(app, client=("198.51.100.7", 1234))
    for _ in range(5):
        attempt(client, "olli", "wrong password")
    assert attempt(client, "olli", PASSWORD).status_code == 429
    assert main(["users", "unlock", "olli"]) == 0
    assert "olli: sign-in unlocked" in capsys.readouterr().out
    assert attempt(client, "olli", PASSWORD).status_code == 200

    roaming = TestClient(app, client=("198.51.100.8", 1234))
    for i in range(20):
        attempt(roaming, f"someone{i}", "wrong password")
    assert attempt(roaming, "viivi", PASSWORD).status_code == 429
    assert main(["users", "unlock", "--address", "198.51.100.8"]) == 0
    assert "address 198.51.100.8: sign-in unlocked" in capsys.readouterr().out
    assert attempt(roaming, "viivi", PASSWORD).status_code == 200
    assert main(["users", "unlock", "viivi"]) == 0
    assert "not locked" in capsys.readouterr().out
    assert main(["users", "unlock"]) == 2


@BOTH_STORES
def test_signing_out_revokes_the_session(app):
    client = sign_in(app)
    copied = client.cookies[COOKIE]
    token = CSRF.search(client.get("/").text)[1]
    out = client.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"].endswith("/login")
    thief = TestClient(app, cookies={COOKIE: copied})
    refused = thief.get("/", follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"].endswith("/login")
    assert "Your session has ended" in thief.get("/login").text


@BOTH_STORES
def test_a_session_ends_at_its_absolute_lifetime_however_active(app, clock):
    client = sign_in(app)
    first_age = _max_age(client.get("/"))
    for _ in range(23):  # a request every 20 minutes: never idle
        clock.advance(minutes=20)
        response = client.get("/", follow_redirects=False)
        assert response.status_code == 200
    assert _max_age(response) == first_age - 23 * 20 * 60  # the cookie is not renewed
    clock.advance(minutes=20)  # 8 hours after signing in
    assert not is_signed_in(client)


def _max_age(response) -> int:
    return int(re.search(r"Max-Age=(\d+)", response.headers["set-cookie"])[1])


@BOTH_STORES
def test_a_session_ends_after_thirty_idle_minutes(app, clock):
    client = sign_in(app)
    clock.advance(minutes=29)
    assert is_signed_in(client)
    clock.advance(minutes=29)  # 29 minutes after the last request
    assert is_signed_in(client)
    clock.advance(minutes=30)
    assert not is_signed_in(client)


@BOTH_STORES
def test_every_sign_in_starts_a_new_session_kept_hashed(app, hub):
    client = TestClient(app)
    before = client.get("/login")
    anonymous_csrf = CSRF.search(before.text)[1]
    attempt(client, "olli", PASSWORD)
    first = token_of(app, client)
    assert CSRF.search(client.get("/").text)[1] != anonymous_csrf
    assert attempt(client, "olli", PASSWORD).status_code == 200  # signing in again
    second = token_of(app, client)
    assert second != first
    with hub.store.transaction() as conn:
        rows = {r.id: r for r in conn.execute(select(t.sessions))}
    assert first not in rows and second not in rows  # only hashes are kept
    # the session before ended (and, ended, was deleted); the new one is live
    assert list(rows) == [signin.session_id(second)] and rows[list(rows)[0]].revoked_at is None
    cookie = app.state.dashboard.sessions.serializer.dumps({"s": first, "f": []})
    old = TestClient(app, cookies={COOKIE: cookie})
    assert not is_signed_in(old)


@BOTH_STORES
def test_a_disabled_user_or_a_changed_password_ends_the_sessions(app, hub, capsys):
    olli, viivi = sign_in(app, "olli"), sign_in(app, "viivi")
    assert main(["users", "disable", "olli"]) == 0
    assert "olli can no longer sign in" in capsys.readouterr().out
    assert not is_signed_in(olli)
    assert attempt(olli, "olli", PASSWORD).status_code == 401
    with hub.store.transaction() as conn:
        users.set_user(conn, "viivi", "another long password", "viewer")
    assert not is_signed_in(viivi)
    assert main(["users", "disable", "nobody"]) == 2


@BOTH_STORES
def test_one_scrypt_derivation_whoever_signs_in(app, hub, monkeypatch):
    derivations = []
    real = users._kdf

    def counting(*args, **kwargs):
        derivations.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(users, "_kdf", counting)
    with hub.store.transaction() as conn:
        users.set_user(conn, "ex", PASSWORD, "viewer")
        users.disable_user(conn, "ex")
    counts = {}
    for name, password in (
        ("olli", PASSWORD),
        ("olli", "wrong password"),
        ("nobody", "wrong password"),
        ("ex", PASSWORD),
    ):
        derivations.clear()
        with hub.store.transaction() as conn:
            users.authenticate(conn, name, password)
        counts[name, password] = len(derivations)
        derivations.clear()
        attempt(TestClient(app, client=(f"10.1.0.{len(counts)}", 1)), name, password)
        counts["web", name, password] = len(derivations)
    assert set(counts.values()) == {1}, counts


def test_the_address_is_the_peer_unless_it_is_a_trusted_proxy():
    def request(peer: str, forwarded: str | None = None) -> Request:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return Request({"type": "http", "client": (peer, 1), "headers": headers})

    spoofed = request("203.0.113.5", "198.51.100.1")
    assert client_address(spoofed) == "203.0.113.5"
    assert client_address(spoofed, ("10.0.0.0/8",)) == "203.0.113.5"
    proxied = request("10.0.0.2", "198.51.100.1, 203.0.113.9, 10.0.0.3")
    assert client_address(proxied, ("10.0.0.0/8",)) == "203.0.113.9"
    assert client_address(request("10.0.0.2", "garbage"), ("10.0.0.0/8",)) == "10.0.0.2"
    assert client_address(proxied) == "10.0.0.2"


@BOTH_STORES
def test_failures_are_counted_in_the_store_per_window(hub):
    key = signin.throttle_key(hub.store.keys, signin.USER, "someone")
    start = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
    limits = {"limit": 3, "window": 600, "lockout": 60}
    with hub.store.transaction() as conn:
        for minutes in (0, 5):
            at = start + dt.timedelta(minutes=minutes)
            assert signin.record_failure(conn, signin.USER, key, at, **limits) is None
        later = start + dt.timedelta(minutes=11)  # the window began anew: 1 failure
        assert signin.record_failure(conn, signin.USER, key, later, **limits) is None
        at = later + dt.timedelta(minutes=1)
        assert signin.record_failure(conn, signin.USER, key, at, **limits) is None
        at += dt.timedelta(minutes=1)
        until = signin.record_failure(conn, signin.USER, key, at, **limits)
        assert until == at + dt.timedelta(seconds=60)
        assert signin.locked_until(conn, [(signin.USER, key)], at) == until
        assert signin.locked_until(conn, [(signin.USER, key)], until) is None
        assert signin.forget_stale(conn, until + dt.timedelta(minutes=11), 600) == 1
        assert conn.execute(select(t.signin_failures)).first() is None


def test_the_policy_comes_from_the_environment(monkeypatch):
    assert SignInPolicy.from_env() == SignInPolicy()
    monkeypatch.setenv("HUB_SIGNIN_MAX_FAILURES", "3")
    monkeypatch.setenv("HUB_SIGNIN_LOCKOUT_SECONDS", "120")
    monkeypatch.setenv("HUB_SIGNIN_TRUSTED_PROXIES", "10.0.0.1, 10.0.1.0/24")
    policy = SignInPolicy.from_env()
    assert (policy.max_failures, policy.lockout) == (3, 120)
    assert policy.trusted_proxies == ("10.0.0.1", "10.0.1.0/24")
    monkeypatch.setenv("HUB_SIGNIN_MAX_FAILURES", "many")
    with pytest.raises(ConfigError, match="HUB_SIGNIN_MAX_FAILURES"):
        SignInPolicy.from_env()
    monkeypatch.setenv("HUB_SIGNIN_MAX_FAILURES", "5")
    monkeypatch.setenv("HUB_SESSION_IDLE_SECONDS", "0")
    with pytest.raises(ConfigError, match="HUB_SESSION_IDLE_SECONDS"):
        SignInPolicy.from_env()
