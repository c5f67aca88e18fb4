"""One store on two engines: migrations that upgrade in place and roll back whole, the same answers on
SQLite and PostgreSQL, jobs and Slack state shared through the database, and clear start-up errors."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from clirun import dynodoc
from pgserver import waiting_for_lock

from bot.config import Settings
from bot.digest import Tally, build_digest
from bot.render.text import digest_json, render_digest
from bot.store import (
    MIGRATIONS,
    Db,
    LineRecord,
    PollRun,
    Store,
    StoreError,
    StoreUnavailable,
    _v1,
    _v2,
    is_postgres_url,
    lock_key,
    open_store,
    redact_url,
)

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
END = datetime(2026, 11, 24, 9, tzinfo=UTC)

# The schema as the bot created it before this store spoke SQL itself (sqlite-utils' DDL, read back
# from a real v2 file with `.schema`): existing SQLite files in the wild look exactly like this.
SQLITE_V1 = """
CREATE TABLE "events" ("id" INTEGER PRIMARY KEY, "app" TEXT NOT NULL, "platform" TEXT NOT NULL,
   "time" TEXT NOT NULL, "code" TEXT NOT NULL, "kind" TEXT, "dyno" TEXT, "region" TEXT, "path" TEXT,
   "status" INTEGER, "service_ms" INTEGER, "line" TEXT, "line_hash" TEXT NOT NULL);
CREATE UNIQUE INDEX "idx_events_line_hash" ON "events" ("line_hash");
CREATE INDEX "idx_events_app_time" ON "events" ("app", "time");
CREATE TABLE "rollups" ("app" TEXT, "hour" TEXT, "requests" INTEGER, "errors" INTEGER, "status_5xx" INTEGER,
   "service_hist" TEXT, "service_p50" INTEGER, "service_p95" INTEGER, PRIMARY KEY ("app", "hour"));
CREATE TABLE "cursors" ("app" TEXT PRIMARY KEY, "platform" TEXT, "cursor" TEXT, "newest_time" TEXT,
   "updated" TEXT);
CREATE TABLE "poll_runs" ("id" INTEGER PRIMARY KEY, "app" TEXT, "platform" TEXT, "started" TEXT,
   "finished" TEXT, "lines_read" INTEGER, "new_events" INTEGER, "gap" INTEGER, "gap_from" TEXT,
   "gap_to" TEXT, "error" TEXT);
CREATE INDEX "idx_poll_runs_app_started" ON "poll_runs" ("app", "started");
CREATE TABLE "seen_events" ("event_id" TEXT PRIMARY KEY, "seen_at" TEXT);
CREATE TABLE "channel_settings" ("channel" TEXT PRIMARY KEY, "autodiagnose" INTEGER, "updated_by" TEXT,
   "updated_at" TEXT);
CREATE TABLE "digests" ("channel" TEXT, "day" TEXT, "state" TEXT, "ts" TEXT, "created" TEXT, "posted" TEXT,
   PRIMARY KEY ("channel", "day"));
PRAGMA user_version = 1;
"""
SQLITE_V2 = """
ALTER TABLE poll_runs ADD COLUMN outcome TEXT;
ALTER TABLE poll_runs ADD COLUMN codes TEXT;
ALTER TABLE poll_runs ADD COLUMN note TEXT;
CREATE TABLE seen_lines (app TEXT NOT NULL, line_hash TEXT NOT NULL, time TEXT NOT NULL,
   PRIMARY KEY (app, line_hash)) WITHOUT ROWID;
CREATE INDEX idx_seen_lines_app_time ON seen_lines (app, time);
PRAGMA user_version = 2;
"""


# Every table the migrations make, with its columns: the same names on both engines.
SCHEMA_COLUMNS = {
    "events": {
        "id",
        "app",
        "platform",
        "time",
        "code",
        "kind",
        "dyno",
        "region",
        "path",
        "status",
        "service_ms",
        "line",
        "line_hash",
    },
    "rollups": {
        "app",
        "hour",
        "requests",
        "errors",
        "status_5xx",
        "service_hist",
        "service_p50",
        "service_p95",
    },
    "cursors": {"app", "platform", "cursor", "newest_time", "updated"},
    "poll_runs": {
        "id",
        "app",
        "platform",
        "started",
        "finished",
        "lines_read",
        "new_events",
        "gap",
        "gap_from",
        "gap_to",
        "error",
        "outcome",
        "codes",
        "note",
    },
    "seen_events": {"event_id", "seen_at"},
    "channel_settings": {"channel", "autodiagnose", "updated_by", "updated_at"},
    "digests": {"channel", "day", "state", "ts", "created", "posted"},
    "seen_lines": {"app", "line_hash", "time"},
    "code_hours": {"app", "hour", "code", "events"},
    "chores": {"name", "last_run"},
    "health": {"id", "at"},
    "cards": {"id", "kind", "fingerprint", "label", "card", "details", "created"},
    "feedback": {"fingerprint", "user_id", "kind", "label", "vote", "created"},
    "incidents": {
        "id",
        "app",
        "code",
        "reason",
        "opened",
        "last_seen",
        "count",
        "state",
        "channel",
        "ts",
        "acked_by",
        "acked_at",
        "snoozed_until",
        "release",
    },
    "alert_mutes": {"app", "code", "muted_by", "muted_at"},
    "alert_outbox": {"id", "incident_id", "action", "state", "created", "sent", "error", "tries"},
}


def iso(t: datetime) -> str:
    return t.isoformat(timespec="microseconds")


def old_database(target: str, version: int, statements: list[tuple[str, list]]) -> None:
    """A database as an older bot left it, at `version`, with `statements` run on it."""
    if is_postgres_url(target):
        with psycopg.connect(target, autocommit=True) as conn, conn.cursor() as cur:
            db = Db(cur, "postgres")
            for migration in (_v1, _v2)[:version]:
                migration(db)
            cur.execute(
                "CREATE TABLE schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER)"
            )
            cur.execute("INSERT INTO schema_version VALUES (1, %s)", [version])
            for sql, params in statements:
                db.execute(sql, params)
    else:
        with closing(sqlite3.connect(target, isolation_level=None)) as conn:
            conn.executescript(SQLITE_V1 + (SQLITE_V2 if version >= 2 else ""))
            for sql, params in statements:
                conn.execute(sql, params)


def event_row(n: int, t: datetime, code: str, app: str = "shop-api") -> tuple[str, list]:
    return (
        "INSERT INTO events (app, platform, time, code, kind, dyno, path, line, line_hash) "
        "VALUES (?, 'heroku', ?, ?, 'router', 'web.1', '/x', 'a line', ?)",
        [app, iso(t), code, f"hash{n}"],
    )


def test_a_v1_database_is_upgraded_in_place_and_keeps_its_rows(tmp_path):
    path = str(tmp_path / "v1.db")
    old_database(
        path,
        1,
        [
            (
                "INSERT INTO poll_runs (app, platform, started, finished, lines_read, new_events, gap, error) "
                "VALUES ('shop-api', 'heroku', ?, ?, 1500, 3, 1, NULL)",
                [iso(NOW), iso(NOW)],
            ),
            event_row(1, NOW, "H12"),
        ],
    )

    store = Store(path)

    assert store.version == len(MIGRATIONS) >= 3
    columns = {r[1] for r in store.query("PRAGMA table_info(poll_runs)")}
    assert {"outcome", "codes", "note"} <= columns
    (old,) = store.poll_runs("shop-api")
    assert (old.outcome, old.lines_read, old.new_events, old.codes) == ("ok", 1500, 3, ())
    assert store.query("SELECT code FROM events") == [("H12",)]
    health = store.poll_health("shop-api", NOW + timedelta(minutes=1))
    assert health.last == old and health.events_24h == 1 and health.failures_in_a_row == 0
    store.close()
    assert Store(path).version == len(MIGRATIONS)  # opening again changes nothing


def test_a_v2_database_is_upgraded_and_its_events_are_counted_per_hour(database):
    times = [NOW - timedelta(hours=h, minutes=m) for h, m in ((1, 0), (1, 10), (3, 0), (30, 5))]
    old_database(
        database, 2, [event_row(i, t, "H12") for i, t in enumerate(times)] + [event_row(9, NOW, "R14")]
    )

    store = Store(database)

    assert store.version == len(MIGRATIONS)
    assert sorted(store.query("SELECT hour, code, events FROM code_hours")) == [
        ("2026-11-23T03:00:00.000000+00:00", "H12", 1),
        ("2026-11-24T06:00:00.000000+00:00", "H12", 1),
        ("2026-11-24T08:00:00.000000+00:00", "H12", 2),
        ("2026-11-24T09:00:00.000000+00:00", "R14", 1),
    ]
    tally = store.digest_tally("shop-api", "heroku", END - timedelta(days=8), END)
    assert sum(tally.codes.values()) == 4  # R14 at 09:30 is after the window
    store.close()


def test_a_migration_that_fails_halfway_leaves_nothing_and_runs_again(database):
    # Something already named like an index v3 creates: v3 fails after creating code_hours.
    old_database(
        database, 2, [event_row(1, NOW, "H12"), ("CREATE INDEX idx_events_time ON events (code)", [])]
    )

    with pytest.raises(StoreError):
        Store(database)

    if is_postgres_url(database):
        with psycopg.connect(database, autocommit=True) as conn:
            assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == 2
            assert conn.execute("SELECT to_regclass('code_hours')").fetchone()[0] is None
            conn.execute("DROP INDEX idx_events_time")
    else:
        with closing(sqlite3.connect(database, isolation_level=None)) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
            assert not conn.execute("SELECT name FROM sqlite_master WHERE name = 'code_hours'").fetchall()
            conn.execute("DROP INDEX idx_events_time")
    store = Store(database)  # the rerun goes through
    assert store.version == len(MIGRATIONS)
    assert store.query("SELECT code, events FROM code_hours") == [("H12", 1)]
    store.close()


def _events(seed: int) -> list[tuple[str, LineRecord]]:
    """Nine days of events for two apps: codes in bursts, paths and dynos sometimes missing, one code
    last seen two weeks ago that comes back, one that is new today."""
    rng = random.Random(seed)
    out = []
    for n in range(1500):
        app = rng.choice(["shop-api", "shop-web"])
        t = END - timedelta(minutes=rng.randrange(0, 9 * 24 * 60)) + timedelta(seconds=rng.random())
        code = rng.choice(["H12", "H12", "H10", "R14", "H13"])
        path = rng.choice(["/orders/7", "/orders/8", "/users/{id}", None])
        dyno = rng.choice(["web.1", "web.2", None])
        out.append((app, LineRecord(f"e{n}", t, f"line {n}", code=code, dyno=dyno, path=path, status=503)))
    out.append(("shop-api", LineRecord("old", END - timedelta(days=15), "old", code="H18", path="/a")))
    out.append(("shop-api", LineRecord("back", END - timedelta(hours=2), "back", code="H18", path="/a")))
    out.append(("shop-api", LineRecord("new", END - timedelta(hours=3), "new", code="H27", dyno="web.3")))
    out.append(("shop-api", LineRecord("future", END + timedelta(minutes=5), "later", code="H27")))
    return out


def _tally_as_before(store: Store, app: str, since: datetime, until: datetime, new: Tally) -> Tally:
    """The Tally as the previous query shape built it: every event of the window grouped by hour,
    code, path and dyno, and the first time of every code the app ever had."""
    old = Tally(app=app, platform=new.platform)
    for hour, code, path, dyno, n in store.query(
        "SELECT substr(time, 1, 13), code, path, dyno, COUNT(*) FROM events "
        "WHERE app = ? AND time >= ? AND time < ? GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",  # as SQLite gave them
        [app, iso(since), iso(until)],
    ):
        old.add_event(datetime.fromisoformat(hour + ":00:00+00:00"), code, path, dyno, count=n)
    old.first_seen = {
        code: datetime.fromisoformat(first)
        for code, first in store.query(
            "SELECT code, MIN(time) FROM events WHERE app = ? GROUP BY code", [app]
        )
    }
    # What the query shape did not change is taken as it is.
    old.requests, old.server_errors, old.service = new.requests, new.server_errors, new.service
    old.polls_done, old.polls_expected, old.gaps = new.polls_done, new.polls_expected, new.gaps
    return old


# Four sets of random data on SQLite, one on PostgreSQL: both engines run the same SQL, and each of these
# 1,500-event loads costs a second on PostgreSQL, paid again for every surviving mutant in `make mutate`.
@pytest.mark.parametrize(
    "database, seed",
    [("sqlite", 1), ("sqlite", 2), ("sqlite", 3), ("sqlite", 4), ("postgres", 1)],
    indirect=["database"],
    ids=["sqlite-1", "sqlite-2", "sqlite-3", "sqlite-4", "postgres-1"],
)
def test_the_digest_is_the_same_as_with_the_old_query_shape(store, kb, seed):
    for app in ("shop-api", "shop-web"):
        rows = [r for a, r in _events(seed) if a == app]
        for start in range(0, len(rows), 200):  # several polls
            store.save_lines(app, "heroku", rows[start : start + 200])
        store.record_run(PollRun(app, "heroku", END - timedelta(hours=1), END - timedelta(hours=1)))
    since = END - timedelta(days=8)
    new = [store.digest_tally(app, "heroku", since, END) for app in ("shop-api", "shop-web")]
    old = [_tally_as_before(store, t.app, since, END, t) for t in new]

    before, after = build_digest(old, END, kb), build_digest(new, END, kb)

    assert digest_json(after) == digest_json(before)
    assert render_digest(after) == render_digest(before)
    assert after == before
    codes = {c.code: c for c in after.apps[0].codes + after.apps[1].codes}
    assert codes["H27"].new and not codes["H18"].new and codes["H12"].paths
    # The trend is counted per hour and code; paths and dynos only for the last 24 h.
    (shop_api,) = [t for t in new if t.app == "shop-api"]
    assert min(h for h, _ in shop_api.codes) >= since
    assert min(h for h, _, _ in shop_api.paths) >= END - timedelta(days=1)
    assert sum(shop_api.codes.values()) > sum(shop_api.paths.values()) > 0


def test_retention_deletes_in_batches_at_most_once_an_hour(store):
    old = NOW - timedelta(days=40)
    store.save_lines(
        "a", "heroku", [LineRecord(f"h{i}", old + timedelta(minutes=i), "x", code="H10") for i in range(12)]
    )
    store.save_lines("a", "heroku", [LineRecord("fresh", NOW, "x", code="H10")])

    deleted = store.enforce_retention(30, NOW, batch=5)

    assert deleted["events"] == 12 and deleted["seen_lines"] == 12
    assert store.query("SELECT COUNT(*) FROM events") == [(1,)]
    store.save_lines("a", "heroku", [LineRecord("late", NOW - timedelta(days=35), "x", code="H10")])
    assert store.enforce_retention(30, NOW + timedelta(minutes=59)) == {}  # ran less than an hour ago
    assert store.enforce_retention(30, NOW + timedelta(minutes=61))["events"] == 1


def test_settings_dedupe_and_digest_claims_are_shared_by_every_instance(database):
    one, two = Store(database), Store(database)
    one.set_autodiagnose("C0INCIDENT", True, "U1")
    assert two.autodiagnose("C0INCIDENT") is True
    assert one.first_sighting("Ev1") is True and two.first_sighting("Ev1") is False
    assert two.claim_digest("C0DIGEST", "2026-11-24") and not one.claim_digest("C0DIGEST", "2026-11-24")
    one.close()
    two.close()


def test_a_job_runs_in_one_instance_at_a_time_on_postgres(database):
    # (SQLite: one scheduler per file, so every instance may run it)
    one, two = Store(database), Store(database)
    with (
        one.exclusive("poll") as first,
        two.exclusive("poll") as second,
        two.exclusive("digest") as other_job,
    ):
        pass
    with two.exclusive("poll") as after:
        pass
    assert first and after and other_job
    # On PostgreSQL the lock is the database's; an SQLite file is used by one scheduler only.
    assert second is (not is_postgres_url(database))
    one.close()
    two.close()


def test_a_lost_connection_releases_the_job_lock(postgres):
    url = postgres.new_database()
    one, two = Store(url), Store(url)
    with one.exclusive("digest") as mine:
        assert mine
        with psycopg.connect(url, autocommit=True) as admin:  # the instance's session dies
            pids = [
                r[0]
                for r in admin.execute(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                ).fetchall()
            ]
            admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [pids])
            # Termination is asynchronous: the lock goes with the backend, so wait for the backend to be gone.
            deadline = time.monotonic() + 10
            while admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids]
            ).fetchone()[0]:
                assert time.monotonic() < deadline, "the terminated session did not end"
                time.sleep(0.02)
        with two.exclusive("digest") as theirs:
            assert theirs
    one.close()
    two.close()
    postgres.drop_database(url)


def test_the_store_recovers_when_postgres_drops_its_connections(postgres):
    url = postgres.new_database()
    store = Store(url)
    store.save_lines("a", "heroku", [LineRecord("1", NOW, "x", code="H12")])
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'dynodoc' AND pid <> pg_backend_pid()"
        )
    assert store.first_sighting("Ev-after-restart")  # a dead pooled connection is replaced
    saved = store.save_lines(
        "a", "heroku", [LineRecord("1", NOW, "x", code="H12"), LineRecord("2", NOW, "x", code="H12")]
    )
    assert (saved.new_lines, saved.new_events) == (1, 1)  # nothing counted twice
    store.close()
    postgres.drop_database(url)


def _status(env: dict[str, str]):
    return dynodoc("status", env={"PATH": "/usr/bin:/bin", **env}, timeout=60)


@pytest.mark.parametrize(
    "make_url, words, status",
    [
        (lambda pg: pg.url(password="not-the-password"), "refused the user name or password", 2),
        (lambda pg: pg.url("no_such_db"), "names a database that does not exist", 2),
        (lambda pg: pg.url() + "?sslmode=require", "asks for SSL (sslmode)", 2),
        (lambda pg: pg.url().replace(str(pg.port), "1"), "refused the connection", 1),
        (
            lambda pg: pg.url().replace("postgresql://", "mysql://"),
            "must be a postgres:// or postgresql:// URL",
            2,
        ),
        (
            lambda pg: pg.url().replace("127.0.0.1", "no-such-host.invalid"),
            "names a host that cannot be found",
            1,
        ),
    ],
    ids=["password", "database", "sslmode", "refused", "scheme", "host"],
)
def test_a_bad_database_url_is_one_line_without_the_password(postgres, make_url, words, status):
    url = make_url(postgres)
    result = _status({"DATABASE_URL": url})
    assert result.returncode == status, result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    password = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    assert password not in result.stderr + result.stdout


def test_postgres_url_as_heroku_spells_it_works(postgres):
    url = postgres.new_database().replace("postgresql://", "postgres://")
    result = _status({"DATABASE_URL": url, "DYNODOC_APPS": "heroku:shop-api"})
    assert result.returncode == 0, result.stderr
    assert "shop-api" in result.stdout
    with closing(Store(url)) as store:
        assert store.dialect == "postgres" and store.version == len(MIGRATIONS)
    postgres.drop_database(url)


def test_times_compare_the_same_on_both_engines(store):
    # ISO text of one shape: what the engines sort must be what Python sorts.
    times = [NOW + timedelta(microseconds=m) for m in (1, 10, 999_999)] + [NOW - timedelta(days=400)]
    store.save_lines("a", "heroku", [LineRecord(f"t{i}", t, "x", code="H12") for i, t in enumerate(times)])
    assert [r[0] for r in store.query("SELECT time FROM events ORDER BY time")] == sorted(
        iso(t) for t in times
    )
    assert Counter(c for (c,) in store.query("SELECT code FROM events WHERE time >= ?", [iso(NOW)])) == {
        "H12": 3
    }


def test_events_are_counted_per_app_and_code_in_a_half_open_window(store):
    # Alerts compare a window with its baseline: [since, until), one app, one code.
    store.save_lines(
        "a",
        "heroku",
        [
            LineRecord("before", NOW - timedelta(microseconds=1), "x", code="H12"),
            LineRecord("first", NOW, "x", code="H12"),
            LineRecord("last", NOW + timedelta(minutes=5) - timedelta(microseconds=1), "x", code="H12"),
            LineRecord("end", NOW + timedelta(minutes=5), "x", code="H12"),
            LineRecord("other-code", NOW + timedelta(minutes=1), "x", code="H10"),
        ],
    )
    store.save_lines("b", "heroku", [LineRecord("other-app", NOW + timedelta(minutes=1), "x", code="H12")])
    assert store.count_events("a", "H12", NOW, NOW + timedelta(minutes=5)) == 2
    assert store.count_events("a", "H10", NOW, NOW + timedelta(minutes=5)) == 1
    assert store.count_events("b", "H12", NOW - timedelta(days=1), NOW + timedelta(days=1)) == 1
    assert store.count_events("c", "H12", NOW - timedelta(days=1), NOW + timedelta(days=1)) == 0


def test_rows_are_loaded_in_bulk_and_an_empty_load_does_nothing(store):
    rows = [
        {"app": "a", "hour": iso(END - timedelta(hours=h)), "code": code, "events": n}
        for h, code, n in ((1, "H12", 3), (2, "H12", 1), (1, "R14", 2))
    ]
    store.insert_rows("code_hours", rows)
    assert sorted(store.query("SELECT hour, code, events FROM code_hours")) == sorted(
        (r["hour"], r["code"], r["events"]) for r in rows
    )
    store.insert_rows("no_such_table", [])  # nothing to load: not even the table is looked at
    store.insert_rows(
        "code_hours", [{"app": "a", "hour": iso(END - timedelta(hours=3)), "code": "H10", "events": 1}]
    )
    assert store.query("SELECT app, code, events FROM code_hours WHERE code = 'H10'", as_dicts=True) == [
        {"app": "a", "code": "H10", "events": 1}
    ]
    tally = store.digest_tally("a", "heroku", END - timedelta(days=1), END)
    assert dict(tally.codes) == {
        (END - timedelta(hours=1), "H12"): 3,
        (END - timedelta(hours=2), "H12"): 1,
        (END - timedelta(hours=1), "R14"): 2,
        (END - timedelta(hours=3), "H10"): 1,
    }


def test_a_statement_the_database_rejects_is_one_line_naming_the_database(store):
    with pytest.raises(StoreError) as caught:
        store.query("SELECT * FROM no_such_table")
    assert not isinstance(caught.value, StoreUnavailable)
    if store.dialect == "postgres":
        assert str(caught.value) == (
            f"the database at DATABASE_URL={store.path} cannot be used "
            '(UndefinedTable: relation "no_such_table" does not exist)'
        )
    else:
        assert str(caught.value) == (
            f"the database DYNODOC_DB={store.path} cannot be used (OperationalError: no such table: no_such_table)"
        )
    assert store.first_sighting("Ev-after-an-error")  # the store goes on


def test_the_store_the_settings_name_on_the_clock_given(database):
    def clock() -> datetime:
        return NOW

    if is_postgres_url(database):
        settings = Settings(database_url=database, db_path=Path("unused.db"))
    else:
        settings = Settings(db_path=Path(database))
    store = open_store(settings, clock)
    assert store.dialect == ("postgres" if is_postgres_url(database) else "sqlite")
    assert store.path == (redact_url(database) if is_postgres_url(database) else database)
    assert store.clock is clock and store.first_sighting("Ev1")
    assert store.query("SELECT seen_at FROM seen_events") == [(iso(NOW),)]
    store.close()


def _paused_batch(app: str, first: threading.Event, go_on: threading.Event):
    """A batch whose reading stops after its first line until `go_on`: a writer caught mid-transaction."""
    yield LineRecord(f"{app}-1", NOW, "x", code="H12", request=True, status=503, service_ms=30000)
    first.set()
    assert go_on.wait(10)
    yield LineRecord(f"{app}-2", NOW, "x", code="H12", request=True, status=503, service_ms=30000)


def test_writers_of_one_app_take_turns_so_no_count_is_lost(database):
    # The rollups are read, merged and written back: a second writer of the same app waits for the first.
    one, two, other = Store(database), Store(database), Store(database)
    first, go_on = threading.Event(), threading.Event()
    writer = threading.Thread(target=lambda: one.save_lines("a", "heroku", _paused_batch("a", first, go_on)))
    writer.start()
    assert first.wait(10)
    rival = threading.Thread(
        target=lambda: two.save_lines(
            "a", "heroku", [LineRecord("a-3", NOW, "x", request=True, status=200, service_ms=40)]
        )
    )
    elsewhere = threading.Thread(
        target=lambda: other.save_lines(
            "b", "heroku", [LineRecord("b-1", NOW, "x", request=True, status=200)]
        )
    )
    rival.start()
    elsewhere.start()
    if is_postgres_url(database):  # seen waiting for the app's lock
        with psycopg.connect(database, autocommit=True) as admin:
            deadline = time.monotonic() + 10
            while not waiting_for_lock(admin, lock_key("app:a")) and rival.is_alive():
                assert time.monotonic() < deadline
                time.sleep(0.01)
            waited = bool(waiting_for_lock(admin, lock_key("app:a")))
        elsewhere.join(10)
    else:  # SQLite's write lock is the whole file's
        rival.join(0.3)
        elsewhere.join(0.01)
        waited = rival.is_alive()
    # PostgreSQL: each app takes its own turn, so another app's poll is not held up; SQLite: one writer at a time.
    other_app_waited = elsewhere.is_alive()
    go_on.set()
    for thread in (writer, rival, elsewhere):
        thread.join(10)
    assert waited and other_app_waited is (not is_postgres_url(database))
    assert one.query("SELECT requests, errors, status_5xx FROM rollups WHERE app = 'a'") == [(3, 2, 2)]
    for store in (one, two, other):
        store.close()


def test_paths_with_equal_counts_keep_the_order_they_were_first_seen_in(store, kb):
    # /b (twice, on one line's path) and /orders/7 + /orders/8 (which the digest shows as /orders/{id}):
    # equal counts, first seen in the same hour, so the name decides, as it always did.
    t = END - timedelta(hours=2)
    store.save_lines(
        "a",
        "heroku",
        [
            LineRecord("1", t + timedelta(minutes=1), "x", code="H12", path="/orders/7", dyno="web.2"),
            LineRecord("2", t + timedelta(minutes=2), "x", code="H12", path="/orders/8", dyno="web.2"),
            LineRecord("3", t + timedelta(minutes=3), "x", code="H12", path="/b", dyno="web.1"),
            LineRecord("4", t + timedelta(minutes=4), "x", code="H12", path="/b", dyno="web.1"),
        ],
    )
    tally = store.digest_tally("a", "heroku", END - timedelta(days=8), END)
    [stat] = build_digest([tally], END, kb).apps[0].codes
    assert stat.paths == (("/b", 2), ("/orders/{id}", 2))
    assert stat.places == (("web.1", 2), ("web.2", 2))


def test_coverage_counts_five_minute_polls_unless_told_and_never_fewer_than_ran(store):
    start = END - timedelta(hours=1)
    store.record_run(PollRun("a", "heroku", start, start))
    tally = store.digest_tally("a", "heroku", END - timedelta(days=8), END)
    assert (tally.polls_done, tally.polls_expected) == (1, 13)  # every 5 minutes by default
    # Polls that failed in a burst: more ran than the schedule called for, and none was done.
    for s in range(4):
        t = END - timedelta(minutes=10) + timedelta(seconds=s)
        store.record_run(PollRun("b", "heroku", t, t, "failed", error="boom"))
    busy = store.digest_tally("b", "heroku", END - timedelta(days=8), END, poll_minutes=60)
    assert (busy.polls_done, busy.polls_expected, busy.poll_error) == (0, 4, "boom")


def test_the_schema_is_the_same_on_both_engines(store):
    if store.dialect == "postgres":
        rows = store.query(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name <> 'schema_version'"
        )
    else:
        rows = store.query(
            "SELECT m.name, p.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p "
            "WHERE m.type = 'table'"
        )
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    assert columns == SCHEMA_COLUMNS


def test_one_open_incident_per_app_and_code_on_both_engines(store):
    insert = (
        "INSERT INTO incidents (app, code, reason, opened, last_seen, count, state, channel) "
        "VALUES ('a', ?, 'new', ?, ?, 1, ?, 'C1')"
    )
    store.execute(insert, ["H12", iso(NOW), iso(NOW), "open"])
    store.execute(insert, ["H12", iso(NOW), iso(NOW), "recovered"])  # an ended one may sit beside it
    store.execute(insert, ["H10", iso(NOW), iso(NOW), "open"])
    with pytest.raises(StoreError):
        store.execute(insert, ["H12", iso(NOW), iso(NOW), "open"])
    assert store.query("SELECT code, state FROM incidents ORDER BY id") == [
        ("H12", "open"),
        ("H12", "recovered"),
        ("H10", "open"),
    ]
