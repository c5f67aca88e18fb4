"""Shared fixtures. Every test runs with no proxy and no Slack/platform settings from the outer environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pgserver import PostgresServer, PostgresUnavailable

from bot.knowledge import KnowledgeBase
from bot.store import Store

# The bot run as a subprocess (`python -m bot`, the `dynodoc` script) is this checkout's, like the one the tests
# import (pyproject's `pythonpath`): a git worktree shares its virtualenv, whose editable install points at
# another checkout.
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH")])
)

_CLEARED_PREFIXES = ("SLACK_", "DYNODOC_", "HEROKU_", "FLY_", "DATABASE_URL")
_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES) or name in _PROXIES:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # A stray .env in the developer's checkout must not leak into tests.
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the whole run. If it cannot start, every test that asked for it
    FAILS with the reason: a skip would let the PostgreSQL store go untested unnoticed."""
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL could not start for the tests: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, monkeypatch, tmp_path) -> str:
    """Where the store lives, once per engine: an SQLite file, or a fresh schema on the test PostgreSQL.
    The environment points `dynodoc` at it too (DYNODOC_DB, or DATABASE_URL which takes precedence)."""
    if request.param == "sqlite":
        target = str(tmp_path / "dynodoc.db")
        monkeypatch.setenv("DYNODOC_DB", target)
        return target
    server = request.getfixturevalue("postgres")
    url = server.new_database()
    monkeypatch.setenv("DATABASE_URL", url)
    request.addfinalizer(lambda: server.drop_database(url))
    return url


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def bot_db(request, tmp_path_factory) -> str:
    """The database of a module's bot process, once per engine: a module of Slack tests runs against a
    bot on SQLite and again on a real PostgreSQL (as on Heroku)."""
    if request.param == "sqlite":
        return str(tmp_path_factory.mktemp("sqlite") / "dynodoc.db")
    server = request.getfixturevalue("postgres")
    url = server.new_database()
    request.addfinalizer(lambda: server.drop_database(url))
    return url


@pytest.fixture
def store(database):
    s = Store(database)
    yield s
    s.close()
