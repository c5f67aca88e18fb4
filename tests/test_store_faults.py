"""Storage faults are one line with the fix, never a traceback; parallel first starts are safe."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import psycopg
import pytest
from clirun import child_environ
from pgserver import PASSWORD, waiting_for_lock
from psycopg_pool import PoolTimeout

from bot.store import (
    MIGRATIONS,
    Store,
    StoreError,
    StoreUnavailable,
    _Postgres,
    explain,
    explain_postgres,
    lock_key,
    redact_url,
)


def _status(tmp_path, db) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "status"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"DYNODOC_DB": str(db), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )


@pytest.mark.parametrize(
    "setup, words",
    [
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: None, "folder that does not exist"),
        (
            lambda p: p.write_bytes(
                b"this is not a database, it is a text file that happens to be here" * 20
            ),
            "not an SQLite database",
        ),
    ],
)
def test_a_bad_database_path_is_one_line_with_the_fix(tmp_path, setup, words):
    db = tmp_path / "data" / "dynodoc.db" if "folder" in words else tmp_path / "dynodoc.db"
    setup(db)
    result = _status(tmp_path, db)
    assert result.returncode == 2
    assert words in result.stderr and "DYNODOC_DB=" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "error, words",
    [
        (sqlite3.OperationalError("attempt to write a readonly database"), "read-only"),
        (sqlite3.OperationalError("database or disk is full"), "disk is full"),
        (PermissionError(13, "Permission denied"), "read-only"),
    ],
)
def test_write_faults_are_explained(tmp_path, error, words):
    assert words in str(explain(error, str(tmp_path / "x.db")))


def test_a_writable_database_is_healthy(store):
    assert store.healthy(every=0) is None
    assert store.healthy(every=0) is None  # the probe row is written again, not added


def test_parallel_first_starts_on_a_new_database_all_succeed(database):
    # Several dynos (or processes) starting at once on a new database: one migrates, the others wait.
    def start(_):
        store = Store(database)
        version = store.version
        store.close()
        return version

    with ThreadPoolExecutor(8) as pool:
        versions = list(pool.map(start, range(8)))
    assert versions == [len(MIGRATIONS)] * 8


def test_store_error_is_a_config_error_so_the_cli_says_it_in_one_line():
    from bot.config import ConfigError

    assert issubclass(StoreError, ConfigError)


# --- PostgreSQL: what a bad DATABASE_URL or a lost server says, in the process (the CLI test above runs
# `dynodoc status`); the password never shows.


@pytest.mark.parametrize(
    "make_url, why, unavailable",
    [
        (
            lambda pg: pg.url(password="not-the-password"),
            "refused the user name or password; copy DATABASE_URL again from the database's settings",
            False,
        ),
        (
            lambda pg: pg.url().replace(f":{PASSWORD}@", "@"),
            "refused the user name or password; copy DATABASE_URL again from the database's settings",
            False,
        ),
        (
            lambda pg: pg.url("no_such_db"),
            "names a database that does not exist on the server; check the name at the end of the URL",
            False,
        ),
        (
            lambda pg: pg.url() + "?sslmode=require",
            "asks for SSL (sslmode) but the server does not offer it; change sslmode or the server",
            False,
        ),
        (
            lambda pg: pg.url().replace(f":{pg.port}/", ":1/"),
            "cannot be reached: 127.0.0.1:1 refused the connection; is PostgreSQL running there?",
            True,
        ),
        (
            lambda pg: pg.url().replace("127.0.0.1", "no-such-host.invalid"),
            "names a host that cannot be found (no-such-host.invalid); check DATABASE_URL",
            True,
        ),
    ],
    ids=["password", "no-password", "database", "sslmode", "refused", "host"],
)
def test_a_bad_database_url_is_one_line_when_the_store_opens(postgres, make_url, why, unavailable):
    url = make_url(postgres)
    with pytest.raises(StoreError) as caught:
        Store(url)
    assert str(caught.value) == f"the database at DATABASE_URL={redact_url(url)} {why}"
    # A server that cannot be reached is a fault of the moment (exit 1); a wrong URL needs a person (exit 2).
    assert isinstance(caught.value, StoreUnavailable) is unavailable
    assert PASSWORD not in str(caught.value)


URL = "postgresql://dynodoc:s3cret-pw@db.example.com/app"


@pytest.mark.parametrize(
    "error, url, why, unavailable",
    [
        (
            psycopg.OperationalError("connection timeout expired"),
            URL,
            "cannot be reached: no answer from db.example.com:5432 in time",
            True,
        ),
        (
            psycopg.OperationalError("connection to server at 10.0.0.5 failed: timed out"),
            "postgresql://dynodoc:s3cret-pw@10.0.0.5:6432/app",
            "cannot be reached: no answer from 10.0.0.5:6432 in time",
            True,
        ),
        (
            PoolTimeout("couldn't get a connection after 5.00 sec"),
            URL,
            "cannot be reached: no answer from db.example.com:5432 in time",
            True,
        ),
        (
            psycopg.OperationalError("Connection refused"),
            "postgresql:///app",  # no host and no port: libpq's defaults
            "cannot be reached: localhost:5432 refused the connection; is PostgreSQL running there?",
            True,
        ),
        (
            psycopg.OperationalError("Connection refused"),
            "postgresql://dynodoc:s3cret-pw@db.example.com:port/app",  # a port that is not a number
            "cannot be reached: the server:5432 refused the connection; is PostgreSQL running there?",
            True,
        ),
        (
            psycopg.OperationalError("terminating connection due to administrator command"),
            URL,
            "closed the connection (a restart or failover?); the bot reconnects by itself",
            True,
        ),
        (
            psycopg.OperationalError("server closed the connection unexpectedly"),
            URL,
            "closed the connection (a restart or failover?); the bot reconnects by itself",
            True,
        ),
        (
            psycopg.OperationalError("consuming input failed: EOF detected"),
            URL,
            "closed the connection (a restart or failover?); the bot reconnects by itself",
            True,
        ),
        (
            psycopg.OperationalError(
                'no pg_hba.conf entry for host "10.1.2.3", user "dynodoc", database "app"'
            ),
            URL,
            "does not let this host in (pg_hba.conf on db.example.com)",
            False,
        ),
        (
            psycopg.OperationalError('could not translate host name "db.example.com" to address'),
            URL,
            "names a host that cannot be found (db.example.com); check DATABASE_URL",
            True,
        ),
        (
            psycopg.OperationalError("failed to resolve host 'db.example.com': [Errno -3] Temporary failure"),
            URL,
            "names a host that cannot be found (db.example.com); check DATABASE_URL",
            True,
        ),
        (
            psycopg.OperationalError("[Errno -2] Name or service not known"),
            URL,
            "names a host that cannot be found (db.example.com); check DATABASE_URL",
            True,
        ),
        (
            psycopg.OperationalError("the server does not support SSL"),
            URL,
            "asks for SSL (sslmode) but the server does not offer it; change sslmode or the server",
            False,
        ),
        (
            psycopg.OperationalError("SSL is required by this client"),
            URL,
            "asks for SSL (sslmode) but the server does not offer it; change sslmode or the server",
            False,
        ),
        (
            psycopg.OperationalError("a client certificate is required"),
            URL,
            "cannot be used (OperationalError: a client certificate is required)",
            False,
        ),
        (
            psycopg.errors.UndefinedTable('relation "events" does not exist\nLINE 1: SELECT * FROM events'),
            URL,
            'cannot be used (UndefinedTable: relation "events" does not exist)',
            False,
        ),
        (psycopg.OperationalError("  "), URL, "cannot be used (OperationalError: )", False),
        (
            psycopg.ProgrammingError('invalid connection option "s3cret-pw"'),
            URL,
            'cannot be used (ProgrammingError: invalid connection option "***")',
            False,
        ),
    ],
)
def test_each_postgres_error_is_one_line_with_its_fix(error, url, why, unavailable):
    explained = explain_postgres(error, url)
    assert str(explained) == f"the database at DATABASE_URL={redact_url(url)} {why}"
    assert type(explained) is (StoreUnavailable if unavailable else StoreError)
    assert "s3cret-pw" not in str(explained)


@pytest.mark.parametrize(
    "url, shown",
    [
        (
            "postgresql://dynodoc:s3cret@db.example.com:5432/app?sslmode=require&PASSWORD=s3cret&sslpassword=k",
            "postgresql://dynodoc:***@db.example.com:5432/app?sslmode=require&PASSWORD=***&sslpassword=***",
        ),
        ("postgres://dynodoc@db.example.com/app", "postgres://dynodoc@db.example.com/app"),
        ("postgresql://db.example.com/app?password=se=cret", "postgresql://db.example.com/app?password=***"),
        (
            "postgresql://dynodoc:p@ss:w@db.example.com/app#part",
            "postgresql://dynodoc:***@db.example.com/app",
        ),
        (
            "postgresql://db.example.com/app?application_name=x",
            "postgresql://db.example.com/app?application_name=x",
        ),
        ("postgresql://dynodoc:s3cret@[::1/app", "(a URL that cannot be read; not shown)"),
    ],
)
def test_a_database_url_is_shown_without_its_password(url, shown):
    assert redact_url(url) == shown


def test_a_store_on_postgres_shows_its_url_without_the_password(postgres):
    url = postgres.new_database()
    store = Store(url)
    assert store.path == redact_url(url) and PASSWORD not in store.path and store.dialect == "postgres"
    store.close()
    postgres.drop_database(url)


def test_job_lock_keys_are_the_same_in_every_release():
    # Dynos of two releases share the database during a deploy: a job's advisory lock must be the same key
    # in both, or each would think the job is free. Signed 64-bit, as pg_advisory_lock takes.
    assert [lock_key(name) for name in ("migrations", "poll", "digest", "app:shop-api")] == [
        -8419162440495408077,
        6369365539102405625,
        8188597414532759768,
        3734715705208787138,
    ]


def _sessions(admin, url: str) -> int:
    return admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = 'dynodoc'",
        [url.rsplit("/", 1)[1]],
    ).fetchone()[0]


def test_the_bots_sessions_are_named_and_a_failed_start_leaves_none_open(postgres):
    # A DBA looking at pg_stat_activity sees the bot's connections as "dynodoc"; a start that fails (here a
    # table of that name already there) closes what it opened.
    url = postgres.new_real_database()
    with psycopg.connect(postgres.url(), autocommit=True) as admin:
        store = Store(url)
        store.first_sighting("Ev1")  # one of the pool's connections at work
        assert _sessions(admin, url) >= 1
        store.close()
        with psycopg.connect(url, autocommit=True) as other:
            other.execute("DROP TABLE events CASCADE")
            other.execute("CREATE TABLE events (x TEXT)")
            other.execute("UPDATE schema_version SET version = 0")
        with pytest.raises(StoreError) as caught:
            Store(url)
        assert caught.value is not None
        deadline = time.monotonic() + 5
        while _sessions(admin, url) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _sessions(admin, url) == 0
    postgres.drop_real_database(url)


def test_at_most_eight_connections_and_a_ninth_user_waits_for_one(postgres):
    # A small pool: a database plan allows a few connections, shared by every dyno.
    url = postgres.new_database()
    store = Store(url)
    with ExitStack() as held:
        for n in range(8):
            assert held.enter_context(store.exclusive(f"job {n}"))
        asked = threading.Thread(target=store.first_sighting, args=["Ev-ninth"])
        asked.start()
        asked.join(0.3)
        waited = asked.is_alive()
    asked.join(5)
    assert waited and not asked.is_alive()
    assert not store.first_sighting("Ev-ninth")  # it went through once a connection was back
    store.close()
    postgres.drop_database(url)


def test_a_dyno_starting_while_another_migrates_waits_its_turn(postgres):
    # Dynos of any release take the same lock: hold it as another dyno would, and the start waits for it.
    url = postgres.new_real_database()
    key = lock_key("migrations")
    opened: list[Store] = []
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [key])
        start = threading.Thread(target=lambda: opened.append(Store(url)))
        start.start()
        deadline = time.monotonic() + 10
        while not waiting_for_lock(other, key) and start.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        waited = bool(waiting_for_lock(other, key)) and not opened
        # and a DBA sees who waits: the dyno's first connection is named too
        names = other.execute(
            "SELECT a.application_name FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND NOT l.granted"
        ).fetchall()
        time.sleep(0.1)
        waiting_sessions = _sessions(other, url)  # its pool opens after the migrations, not while it waits
        other.execute("SELECT pg_advisory_unlock(%s)", [key])
        start.join(10)
    assert waited and names == [("dynodoc",)] and waiting_sessions == 1
    assert opened and opened[0].version == len(MIGRATIONS)
    opened[0].close()
    postgres.drop_real_database(url)


def test_without_psycopg_a_database_url_is_one_line_saying_so(monkeypatch):
    # The PostgreSQL driver is an ordinary dependency, but a hand-made environment may lack it.
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` now fails as if it were not there
    with pytest.raises(StoreError) as caught:
        Store("postgresql://dynodoc:s3cret-pw@db.example.com/app")
    assert str(caught.value) == "DATABASE_URL is set but psycopg is not installed; run make install"


def test_a_listener_waits_at_most_five_seconds_for_a_connection(postgres):
    # All eight connections busy (a stuck query, a dead server): the ninth caller gets an answer in 5 s,
    # the one a Slack listener turns into a reply, rather than hanging.
    url = postgres.new_database()
    engine = _Postgres(url)
    engine.open_pool()
    with ExitStack() as held:
        for _ in range(8):
            held.enter_context(engine.pool.connection())
        started = time.monotonic()
        with pytest.raises(PoolTimeout) as caught:
            held.enter_context(engine.pool.connection())
        waited = time.monotonic() - started
    assert 4.5 < waited < 5.8
    assert str(engine.explain(caught.value)).endswith(
        f"cannot be reached: no answer from 127.0.0.1:{postgres.port} in time"
    )
    engine.close()
    postgres.drop_database(url)


_CLOSE_WHILE_BUSY = """
import sys, threading
from bot.store import Store, StoreError
store = Store(sys.argv[1])
busy, errors = threading.Event(), []
def work():
    for n in range(10**9):
        try:
            store.query("SELECT count(*) FROM events")
            store.execute("DELETE FROM events WHERE id < 0")
        except StoreError as exc:
            errors.append(str(exc))
            return
        if n == 50:
            busy.set()
worker = threading.Thread(target=work)
worker.start()
busy.wait(30)
store.close()
worker.join(30)
print(errors[0] if errors else "no error")
"""


def test_closing_the_sqlite_store_while_a_job_thread_uses_it_is_an_error_not_a_crash(tmp_path):
    """At shutdown `serve` closes the store while a scheduler job may still be running a statement; that
    crashed the process (SIGSEGV, exit 139: five times in five) before close waited for the connection's lock.
    In a child process, since the crash takes the whole process down."""
    for attempt in range(3):
        db = tmp_path / f"busy-{attempt}.db"
        result = subprocess.run(
            [sys.executable, "-c", _CLOSE_WHILE_BUSY, str(db)],
            capture_output=True,
            text=True,
            timeout=120,
            env=child_environ(),
        )
        assert result.returncode == 0, result.stderr[-500:]
        assert "Cannot operate on a closed database" in result.stdout
