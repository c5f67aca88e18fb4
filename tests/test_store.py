"""The store's contract: the schema that old databases and the migrations rely on, the Slack-side records
(seen events, channel settings, digests), poll runs and health, and errors explained in one line."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import MIGRATIONS, LineRecord, PollRun, Store, explain, iso

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)

# (column, type, not null, position in the primary key) per table, and its indexes (name, unique, columns):
# every table and index the migrations make, as a new database has them.
SCHEMA = {
    "events": (
        [
            ("id", "INTEGER", 0, 1),
            ("app", "TEXT", 1, 0),
            ("platform", "TEXT", 1, 0),
            ("time", "TEXT", 1, 0),
            ("code", "TEXT", 1, 0),
            ("kind", "TEXT", 0, 0),
            ("dyno", "TEXT", 0, 0),
            ("region", "TEXT", 0, 0),
            ("path", "TEXT", 0, 0),
            ("status", "INTEGER", 0, 0),
            ("service_ms", "INTEGER", 0, 0),
            ("line", "TEXT", 0, 0),
            ("line_hash", "TEXT", 1, 0),
        ],
        [
            ("idx_events_app_code_time", 0, ["app", "code", "time"]),
            ("idx_events_app_time_detail", 0, ["app", "time", "code", "path", "dyno"]),
            ("idx_events_line_hash", 1, ["line_hash"]),
            ("idx_events_time", 0, ["time"]),
        ],
    ),
    "rollups": (
        [
            ("app", "TEXT", 0, 1),
            ("hour", "TEXT", 0, 2),
            ("requests", "INTEGER", 0, 0),
            ("errors", "INTEGER", 0, 0),
            ("status_5xx", "INTEGER", 0, 0),
            ("service_hist", "TEXT", 0, 0),
            ("service_p50", "INTEGER", 0, 0),
            ("service_p95", "INTEGER", 0, 0),
        ],
        [
            ("idx_rollups_hour", 0, ["hour"]),
            ("sqlite_autoindex_rollups_1", 1, ["app", "hour"]),
        ],
    ),
    "cursors": (
        [
            ("app", "TEXT", 0, 1),
            ("platform", "TEXT", 0, 0),
            ("cursor", "TEXT", 0, 0),
            ("newest_time", "TEXT", 0, 0),
            ("updated", "TEXT", 0, 0),
        ],
        [
            ("sqlite_autoindex_cursors_1", 1, ["app"]),
        ],
    ),
    "poll_runs": (
        [
            ("id", "INTEGER", 0, 1),
            ("app", "TEXT", 0, 0),
            ("platform", "TEXT", 0, 0),
            ("started", "TEXT", 0, 0),
            ("finished", "TEXT", 0, 0),
            ("lines_read", "INTEGER", 0, 0),
            ("new_events", "INTEGER", 0, 0),
            ("gap", "INTEGER", 0, 0),
            ("gap_from", "TEXT", 0, 0),
            ("gap_to", "TEXT", 0, 0),
            ("error", "TEXT", 0, 0),
            ("outcome", "TEXT", 0, 0),
            ("codes", "TEXT", 0, 0),
            ("note", "TEXT", 0, 0),
        ],
        [
            ("idx_poll_runs_app_started", 0, ["app", "started"]),
            ("idx_poll_runs_started", 0, ["started"]),
        ],
    ),
    "seen_events": (
        [
            ("event_id", "TEXT", 0, 1),
            ("seen_at", "TEXT", 0, 0),
        ],
        [
            ("idx_seen_events_seen_at", 0, ["seen_at"]),
            ("sqlite_autoindex_seen_events_1", 1, ["event_id"]),
        ],
    ),
    "channel_settings": (
        [
            ("channel", "TEXT", 0, 1),
            ("autodiagnose", "INTEGER", 0, 0),
            ("updated_by", "TEXT", 0, 0),
            ("updated_at", "TEXT", 0, 0),
        ],
        [
            ("sqlite_autoindex_channel_settings_1", 1, ["channel"]),
        ],
    ),
    "digests": (
        [
            ("channel", "TEXT", 0, 1),
            ("day", "TEXT", 0, 2),
            ("state", "TEXT", 0, 0),
            ("ts", "TEXT", 0, 0),
            ("created", "TEXT", 0, 0),
            ("posted", "TEXT", 0, 0),
        ],
        [
            ("sqlite_autoindex_digests_1", 1, ["channel", "day"]),
        ],
    ),
    "seen_lines": (
        [
            ("app", "TEXT", 1, 1),
            ("line_hash", "TEXT", 1, 2),
            ("time", "TEXT", 1, 0),
        ],
        [
            ("idx_seen_lines_app_time", 0, ["app", "time"]),
            ("idx_seen_lines_time", 0, ["time"]),
            ("sqlite_autoindex_seen_lines_1", 1, ["app", "line_hash"]),
        ],
    ),
    "code_hours": (
        [
            ("app", "TEXT", 1, 1),
            ("hour", "TEXT", 1, 2),
            ("code", "TEXT", 1, 3),
            ("events", "INTEGER", 1, 0),
        ],
        [
            ("idx_code_hours_hour", 0, ["hour"]),
            ("sqlite_autoindex_code_hours_1", 1, ["app", "hour", "code"]),
        ],
    ),
    "chores": (
        [
            ("name", "TEXT", 0, 1),
            ("last_run", "TEXT", 1, 0),
        ],
        [
            ("sqlite_autoindex_chores_1", 1, ["name"]),
        ],
    ),
    "health": (
        [
            ("id", "INTEGER", 0, 1),
            ("at", "TEXT", 0, 0),
        ],
        [],
    ),
    "cards": (
        [
            ("id", "TEXT", 0, 1),
            ("kind", "TEXT", 1, 0),
            ("fingerprint", "TEXT", 1, 0),
            ("label", "TEXT", 1, 0),
            ("card", "TEXT", 1, 0),
            ("details", "TEXT", 1, 0),
            ("created", "TEXT", 1, 0),
        ],
        [
            ("idx_cards_created", 0, ["created"]),
            ("sqlite_autoindex_cards_1", 1, ["id"]),
        ],
    ),
    "feedback": (
        [
            ("fingerprint", "TEXT", 1, 1),
            ("user_id", "TEXT", 1, 2),
            ("kind", "TEXT", 1, 0),
            ("label", "TEXT", 1, 0),
            ("vote", "INTEGER", 1, 0),
            ("created", "TEXT", 1, 0),
        ],
        [
            ("sqlite_autoindex_feedback_1", 1, ["fingerprint", "user_id"]),
        ],
    ),
    "incidents": (
        [
            ("id", "INTEGER", 0, 1),
            ("app", "TEXT", 1, 0),
            ("code", "TEXT", 1, 0),
            ("reason", "TEXT", 1, 0),
            ("opened", "TEXT", 1, 0),
            ("last_seen", "TEXT", 1, 0),
            ("count", "INTEGER", 1, 0),
            ("state", "TEXT", 1, 0),
            ("channel", "TEXT", 1, 0),
            ("ts", "TEXT", 0, 0),
            ("acked_by", "TEXT", 0, 0),
            ("acked_at", "TEXT", 0, 0),
            ("snoozed_until", "TEXT", 0, 0),
            ("release", "TEXT", 0, 0),
        ],
        [
            ("idx_incidents_app_code_state", 0, ["app", "code", "state"]),
            ("idx_incidents_one_open", 1, ["app", "code"]),
            ("idx_incidents_opened", 0, ["opened"]),
        ],
    ),
    "alert_mutes": (
        [
            ("app", "TEXT", 1, 1),
            ("code", "TEXT", 1, 2),
            ("muted_by", "TEXT", 0, 0),
            ("muted_at", "TEXT", 0, 0),
        ],
        [
            ("sqlite_autoindex_alert_mutes_1", 1, ["app", "code"]),
        ],
    ),
    "alert_outbox": (
        [
            ("id", "INTEGER", 0, 1),
            ("incident_id", "INTEGER", 1, 0),
            ("action", "TEXT", 1, 0),
            ("state", "TEXT", 1, 0),
            ("created", "TEXT", 1, 0),
            ("sent", "TEXT", 0, 0),
            ("error", "TEXT", 0, 0),
            ("tries", "INTEGER", 1, 0),
        ],
        [
            ("idx_alert_outbox_state", 0, ["state", "id"]),
        ],
    ),
}


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "dynodoc.db")
    yield s
    s.close()


def test_the_schema_keeps_what_old_databases_and_queries_rely_on(store):
    # Every table keeps its columns and every index the queries rely on is there (v3 replaced (app, time)
    # on events by a covering index that starts with the same two columns). Names as SQLite keeps them:
    # `SELECT *` and the tools people open the file with show them so.
    conn = store.engine.conn
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}
    assert tables == set(SCHEMA)
    for table, (columns, indexes) in SCHEMA.items():
        got = [(r[1], r[2], r[3], r[5]) for r in conn.execute(f"PRAGMA table_info({table})").fetchall()]
        assert got == columns, table
        got_indexes = sorted(
            (name, unique, [c[2] for c in conn.execute(f"PRAGMA index_info({name})").fetchall()])
            for _, name, unique, *_ in conn.execute(f"PRAGMA index_list({table})").fetchall()
        )
        assert got_indexes == indexes, table
    seen_lines = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'seen_lines'").fetchone()[0]
    assert seen_lines.endswith("WITHOUT ROWID")
    assert store.version == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_in_memory_store_works_without_wal():
    store = Store(":memory:")
    assert store.engine.conn.execute("PRAGMA journal_mode").fetchone()[0] == "memory"
    assert store.first_sighting("Ev1") and store.version == len(MIGRATIONS)


def test_slack_event_ids_are_first_seen_once_and_forgotten_after_a_while(store):
    assert store.first_sighting("Ev1") is True
    assert store.first_sighting("Ev1") is False
    assert store.forget_seen_events(datetime.now(UTC) - timedelta(minutes=10)) == 0
    assert store.forget_seen_events(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert store.first_sighting("Ev1") is True


def test_a_channel_setting_beats_the_default(store):
    assert store.autodiagnose("C1") is False and store.autodiagnose("C1", default=True) is True
    store.set_autodiagnose("C1", True, user="U1")
    assert store.autodiagnose("C1") is True
    store.set_autodiagnose("C1", False, user="U2")
    assert store.autodiagnose("C1", default=True) is False
    row = store.engine.conn.execute(
        "SELECT autodiagnose, updated_by FROM channel_settings WHERE channel = 'C1'"
    ).fetchone()
    assert tuple(row) == (0, "U2")


def test_a_digest_is_claimed_once_then_posted_or_forgotten(store):
    assert store.last_digest() is None
    assert store.claim_digest("C1", "2026-11-24") is True
    assert store.claim_digest("C1", "2026-11-24") is False
    record = store.digest_record("C1", "2026-11-24")
    assert (record["channel"], record["day"], record["state"], record["ts"], record["posted"]) == (
        "C1",
        "2026-11-24",
        "intent",
        None,
        None,
    )
    store.forget_digest_claim("C1", "2026-11-24")
    assert store.digest_record("C1", "2026-11-24") is None
    assert store.claim_digest("C1", "2026-11-24") and store.claim_digest("C1", "2026-11-23")
    store.mark_digest_posted("C1", "2026-11-24", "1700000000.000100")
    store.forget_digest_claim("C1", "2026-11-24")  # a posted digest is never forgotten
    posted = store.digest_record("C1", "2026-11-24")
    assert (posted["state"], posted["ts"]) == ("posted", "1700000000.000100") and posted["posted"]
    assert store.last_digest()["day"] == "2026-11-24"  # the posted one, newest
    assert store.digest_record("C2", "2026-11-24") is None


def test_known_lines_are_looked_up_in_chunks(store):
    records = [LineRecord(line_hash=f"h{i}", time=NOW - timedelta(seconds=i), line="x") for i in range(1200)]
    store.save_lines("a", "heroku", records)
    asked = [f"h{i}" for i in range(0, 2400, 2)]  # 1,200 hashes, half of them stored
    assert store.known_lines("a", asked) == {f"h{i}" for i in range(0, 1200, 2)}
    assert store.known_lines("b", asked) == set()


def test_a_poll_run_is_read_back_as_it_was_recorded(store):
    run = PollRun(
        "shop-api",
        "heroku",
        NOW,
        NOW + timedelta(seconds=3),
        "partial",
        1500,
        4,
        (("H12", 3), ("R14", 1)),
        NOW - timedelta(minutes=7),
        NOW - timedelta(minutes=2),
        "connection reset",
        "Fir app: no history",
    )
    store.record_run(run)
    store.record_run(PollRun("other", "fly", NOW, NOW))
    assert store.poll_runs("shop-api") == [run]
    # Rows of the first schema had no outcome: a run with an error failed, one without was ok.
    store.engine.conn.execute(
        "INSERT INTO poll_runs (app, platform, started, finished, lines_read, new_events, gap, error) "
        "VALUES ('old', 'heroku', ?, ?, NULL, NULL, 0, 'boom'), ('old', 'heroku', ?, ?, 10, 1, 0, NULL)",
        [iso(NOW), iso(NOW), iso(NOW - timedelta(hours=1)), iso(NOW - timedelta(hours=1))],
    )
    failed, ok = store.poll_runs("old")
    assert (failed.outcome, failed.lines_read, failed.new_events, failed.error) == ("failed", 0, 0, "boom")
    assert (ok.outcome, ok.lines_read, ok.new_events, ok.codes, ok.gap) == ("ok", 10, 1, (), False)
    assert len(store.poll_runs("shop-api", limit=0)) == 0


def test_poll_health(store):
    now = datetime.now(UTC)
    for minutes, outcome in ((50, "ok"), (40, "partial"), (30, "failed"), (20, "skipped"), (10, "failed")):
        t = now - timedelta(minutes=minutes)
        store.record_run(
            PollRun(
                "a", "heroku", t, t + timedelta(seconds=1), outcome, gap_from=t if minutes == 40 else None
            )
        )
    old = now - timedelta(hours=30)
    store.record_run(PollRun("a", "heroku", old, old, "ok", gap_from=old))
    store.save_lines(
        "a",
        "heroku",
        [
            LineRecord("e1", now - timedelta(hours=1), "x", code="H12"),
            LineRecord("e2", now - timedelta(hours=25), "x", code="H12"),
        ],
    )
    health = store.poll_health("a")
    assert health.last.outcome == "failed" and health.failures_in_a_row == 3
    assert health.last_ok == now - timedelta(minutes=40) + timedelta(
        seconds=1
    )  # a partial poll read the logs
    assert (health.gaps_24h, health.events_24h) == (1, 1)
    assert health.newest_time == now - timedelta(hours=1)
    empty = store.poll_health("nobody", now=now)
    assert (empty.last, empty.last_ok, empty.failures_in_a_row, empty.newest_time) == (None, None, 0, None)


def test_the_cursor_keeps_its_token_and_never_moves_back(store):
    store.save_lines("fly-app", "fly", [LineRecord("a", NOW, "x")], cursor="tok-1")
    store.save_lines("fly-app", "fly", [LineRecord("b", NOW - timedelta(hours=1), "x")])
    cursor = store.cursor("fly-app")
    assert (cursor.app, cursor.platform, cursor.cursor, cursor.newest_time) == (
        "fly-app",
        "fly",
        "tok-1",
        NOW,
    )
    assert cursor.updated is not None and cursor.updated <= datetime.now(UTC)
    store.save_lines("heroku-app", "heroku", [])
    assert (store.cursor("heroku-app").cursor, store.cursor("heroku-app").newest_time) == ("", None)
    assert store.cursor("nobody") is None


def test_lines_at_the_retention_edge_are_kept_and_older_ones_skipped(store):
    saved = store.save_lines(
        "a",
        "heroku",
        [
            LineRecord("old", NOW - timedelta(days=8), "x", code="H12"),
            LineRecord("edge", NOW - timedelta(days=7), "x", code="H12"),
        ],
        keep_after=NOW - timedelta(days=7),
    )
    assert (saved.new_lines, saved.new_events, saved.codes) == (1, 1, {"H12": 1})


def test_the_digest_tally_from_stored_rows(store):
    until = NOW.replace(minute=0)
    store.save_lines(
        "a",
        "heroku",
        [
            LineRecord(
                "1",
                until - timedelta(minutes=50),
                "x",
                code="H12",
                dyno="web.1",
                path="/a",
                request=True,
                status=503,
                service_ms=30000,
            ),
            LineRecord(
                "2",
                until - timedelta(minutes=40),
                "x",
                code="H12",
                dyno="web.2",
                path="/a",
                request=True,
                status=503,
                service_ms=30000,
            ),
            LineRecord("3", until - timedelta(minutes=30), "x", request=True, status=200, service_ms=40),
            LineRecord("4", until - timedelta(days=3), "x", code="R14", dyno="web.1"),
            LineRecord("5", until + timedelta(minutes=5), "x", code="H10"),  # after the window
        ],
    )
    store.engine.conn.execute(
        "UPDATE rollups SET service_hist = NULL WHERE hour = ?", [iso(until - timedelta(days=3))]
    )
    gap = until - timedelta(minutes=20)
    store.record_run(PollRun("a", "heroku", gap, gap, "failed", gap_from=gap - timedelta(minutes=5)))
    tally = store.digest_tally("a", "heroku", until - timedelta(days=8), until, poll_minutes=10)
    hour = until - timedelta(hours=1)
    assert (tally.app, tally.platform) == ("a", "heroku")
    assert dict(tally.codes) == {(hour, "H12"): 2, (until - timedelta(days=3), "R14"): 1}
    # Places and paths are read for the last 24 h only (the digest shows no older ones), counted over the
    # whole day and filed under its first hour.
    day = until - timedelta(days=1)
    assert dict(tally.places) == {(day, "H12", "web.1"): 1, (day, "H12", "web.2"): 1}
    assert dict(tally.paths) == {(day, "H12", "/a"): 2}
    # First sightings of the codes the window shows (the H10 after it is not one of them).
    assert tally.first_seen == {"H12": until - timedelta(minutes=50), "R14": until - timedelta(days=3)}
    assert (tally.requests[hour], tally.server_errors[hour]) == (3, 2)
    assert tally.service[hour] == {2: 1, 21: 2}  # 40 ms and 30 s
    assert tally.gaps == [
        (gap - timedelta(minutes=5), gap - timedelta(minutes=5))
    ]  # no end recorded: the start
    assert tally.poll_error == "the last poll failed"
    assert (tally.polls_done, tally.polls_expected) == (0, 3)  # 20 minutes of polling every 10


def test_a_store_that_cannot_be_written_says_so_in_its_health(tmp_path):
    store = Store(tmp_path / "d.db")
    assert store.healthy(every=0) is None and store.write_error is None
    store.close()
    assert store.healthy(every=3600) is None  # probed at most every hour: the last answer stands
    error = store.healthy(every=0)
    assert error == store.write_error
    assert (
        error
        == f"the database DYNODOC_DB={tmp_path / 'd.db'} cannot be used (ProgrammingError: Cannot operate on a closed database.)"
    )


@pytest.mark.parametrize(
    "error, why",
    [
        (
            sqlite3.DatabaseError("file is not a database"),
            "is not an SQLite database or is damaged; move it aside and the bot starts a new one",
        ),
        (
            sqlite3.DatabaseError("database disk image is malformed"),
            "is not an SQLite database or is damaged; move it aside and the bot starts a new one",
        ),
        (
            sqlite3.OperationalError("attempt to write a readonly database"),
            "cannot be written (a read-only file or file system); point DYNODOC_DB at a writable place",
        ),
        (
            OSError("read-only file system"),
            "cannot be written (a read-only file or file system); point DYNODOC_DB at a writable place",
        ),
        (
            PermissionError("denied"),
            "cannot be written (a read-only file or file system); point DYNODOC_DB at a writable place",
        ),
        (
            sqlite3.OperationalError("database or disk is full"),
            "cannot be written: the disk is full; free some space",
        ),
        (
            sqlite3.OperationalError("database is locked"),
            "is locked by another process for too long; is a second copy of the bot running?",
        ),
        (
            sqlite3.OperationalError("database is busy"),
            "is locked by another process for too long; is a second copy of the bot running?",
        ),
        (sqlite3.OperationalError("no such table: x"), "cannot be used (OperationalError: no such table: x)"),
    ],
)
def test_each_database_error_is_one_line_with_its_fix(tmp_path, error, why):
    path = str(tmp_path / "x.db")
    assert str(explain(error, path)) == f"the database DYNODOC_DB={path} {why}"


def test_a_path_that_is_a_folder_or_in_a_missing_folder(tmp_path):
    assert str(explain(OSError("x"), str(tmp_path))) == (
        f"the database DYNODOC_DB={tmp_path} is a directory; point DYNODOC_DB at a file inside it, "
        f"e.g. DYNODOC_DB={tmp_path / 'dynodoc.db'}"
    )
    missing = tmp_path / "nope" / "x.db"
    assert str(explain(OSError("x"), str(missing))) == (
        f"the database DYNODOC_DB={missing} is in a folder that does not exist ({missing.parent}); "
        "create it or point DYNODOC_DB elsewhere"
    )


def test_a_store_is_reopened_as_it_was_and_shared_between_threads(tmp_path):
    import threading

    first = Store(tmp_path / "d.db")
    assert first.write_error is None  # nothing has failed yet
    first.set_autodiagnose("C1", True)
    first.close()
    again = Store(tmp_path / "d.db")  # the migrations already applied are not run again
    assert again.version == len(MIGRATIONS) and again.autodiagnose("C1") is True
    seen: list[bool] = []
    worker = threading.Thread(target=lambda: seen.append(again.first_sighting("Ev9")))
    worker.start()
    worker.join()
    assert seen == [True] and again.first_sighting("Ev9") is False
    again.set_autodiagnose("C2", True)  # no user given
    assert (
        again.engine.conn.execute("SELECT updated_by FROM channel_settings WHERE channel = 'C2'").fetchone()[
            0
        ]
        == ""
    )


def test_a_path_that_cannot_hold_a_database_is_explained_when_the_store_opens(tmp_path):
    from bot.store import StoreError

    with pytest.raises(StoreError) as caught:
        Store(tmp_path)
    assert str(caught.value).startswith(f"the database DYNODOC_DB={tmp_path} is a directory;")


def test_saving_lines_counts_each_new_one_once_and_merges_the_hours_rollup(store):
    t = NOW - timedelta(hours=2)

    def line(
        h: str, code: str | None = None, status: int = 200, service: int | None = 40, request: bool = True
    ):
        return LineRecord(h, t, "x", code=code, request=request, status=status, service_ms=service)

    first = store.save_lines("a", "heroku", [line("a1", "H12", 503, 30000), line("a2")])
    assert (first.new_lines, first.new_events, first.codes) == (2, 1, {"H12": 1})
    # A batch that overlaps the last one: the seen line is skipped, the lines after it are not.
    second = store.save_lines(
        "a",
        "heroku",
        [
            line("a1", "H12", 503, 30000),
            line("b1", "H12", 500, 30000),
            line("b2", "H12", 503, 30000),
            line("b3", "H13", 200, 100),
            line("b4", None, 200, 5000, request=False),  # not a request: no share of the service times
        ],
    )
    assert (second.new_lines, second.new_events, second.codes) == (4, 3, {"H12": 2, "H13": 1})
    row = store.engine.conn.execute(
        "SELECT requests, errors, status_5xx, service_hist, service_p50, service_p95 FROM rollups"
    ).fetchone()
    assert tuple(row) == (5, 4, 3, '{"2": 1, "4": 1, "21": 3}', 30000, 30000)
    # An hour whose histogram was lost (an older row) merges with what comes next.
    store.engine.conn.execute("UPDATE rollups SET service_hist = NULL")
    store.save_lines("a", "heroku", [line("c1", None, 200, 40)])
    assert store.engine.conn.execute(
        "SELECT requests, service_hist, service_p50 FROM rollups"
    ).fetchone() == (
        6,
        '{"2": 1}',
        50,
    )


def test_known_lines_are_found_in_every_chunk(store):
    store.save_lines("a", "heroku", [LineRecord(f"h{i}", NOW, "x") for i in range(1200)])
    asked = [f"h{i}" for i in reversed(range(0, 2400, 2))]  # the stored ones at the end of the list
    assert store.known_lines("a", asked) == {f"h{i}" for i in range(0, 1200, 2)}


def test_retention_counts_from_the_time_given(store):
    then = datetime(2026, 1, 10, tzinfo=UTC)
    store.save_lines(
        "a",
        "heroku",
        [
            LineRecord("e1", then - timedelta(days=2), "x", code="H12"),
            LineRecord("e2", then - timedelta(days=9), "x", code="H12"),
        ],
    )
    deleted = store.enforce_retention(7, now=then)
    assert deleted["events"] == 1 and store.engine.conn.execute(
        "SELECT line_hash FROM events"
    ).fetchall() == [("e1",)]


def test_poll_health_reads_up_to_200_runs_and_the_last_24_hours_only(store):
    now = datetime.now(UTC)
    for i in range(25):
        t = now - timedelta(minutes=5 * (i + 1))
        store.record_run(PollRun("a", "heroku", t, t, "failed", error="boom"))
    store.save_lines(
        "a",
        "heroku",
        [
            LineRecord("in", now - timedelta(hours=23, minutes=30), "x", code="H12"),
            LineRecord("out", now - timedelta(hours=24, minutes=30), "x", code="H12"),
        ],
    )
    health = store.poll_health("a")
    assert (health.app, health.failures_in_a_row, health.events_24h) == ("a", 25, 1)
    assert len(store.poll_runs("a")) == 20  # by default the newest 20


def test_the_digest_tally_counts_grouped_rows_and_polls_of_the_window_only(store):
    until = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    t = until - timedelta(minutes=30)
    store.save_lines(
        "edge", "fly", [LineRecord(f"e{i}", t, "x", code="PC01", dyno="6e82", path="/a") for i in range(3)]
    )
    store.engine.conn.execute(
        "INSERT INTO rollups (app, hour, requests, errors, status_5xx, service_hist) VALUES ('edge', ?, NULL, 0, NULL, NULL)",
        [iso(until - timedelta(hours=3))],
    )
    first = until - timedelta(hours=30)  # polling began 30 hours ago: the last 24 h call for 145 polls
    store.record_run(PollRun("edge", "fly", first, first, "ok"))
    gap = until - timedelta(hours=2)
    store.record_run(
        PollRun(
            "edge",
            "fly",
            gap,
            gap,
            "ok",
            gap_from=gap - timedelta(minutes=9),
            gap_to=gap - timedelta(minutes=1),
            error="late",
        )
    )
    for i in range(3):  # three polls in one minute
        store.record_run(PollRun("edge", "fly", t + timedelta(seconds=i), t, "ok"))
    tally = store.digest_tally("edge", "fly", until - timedelta(days=8), until, poll_minutes=10)
    assert tally.platform == "fly"
    assert tally.codes == {(t.replace(minute=0), "PC01"): 3}
    assert (
        tally.requests[until - timedelta(hours=3)] == 0
        and tally.server_errors[until - timedelta(hours=3)] == 0
    )
    assert tally.gaps == [(gap - timedelta(minutes=9), gap - timedelta(minutes=1))]
    assert (tally.polls_done, tally.polls_expected) == (4, 145)  # the run 30 hours ago is outside the window
    busy = store.digest_tally(
        "edge", "fly", until - timedelta(days=8), t + timedelta(minutes=1), poll_minutes=600
    )
    assert (busy.polls_done, busy.polls_expected) == (4, 4)  # more polls than the schedule called for


def test_a_host_in_a_half_hour_time_zone_keeps_utc_hours(tmp_path):
    # Times are stored as UTC text and hours start on UTC hours, whatever the machine's time zone: the
    # ordering of the text and the digest's hourly buckets rely on it (India is UTC+05:30).
    import os
    import time

    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kolkata"
    time.tzset()
    try:
        store = Store(tmp_path / "d.db")
        at = datetime(2026, 11, 24, 12, 10, tzinfo=UTC)
        store.save_lines("a", "heroku", [LineRecord("1", at, "x", code="H12", request=True, status=503)])
        assert store.query("SELECT time FROM events") == [("2026-11-24T12:10:00.000000+00:00",)]
        assert store.query("SELECT hour FROM rollups") == [("2026-11-24T12:00:00.000000+00:00",)]
        tally = store.digest_tally("a", "heroku", at - timedelta(days=1), at + timedelta(hours=1))
        assert dict(tally.codes) == {(datetime(2026, 11, 24, 12, tzinfo=UTC), "H12"): 1}
        store.close()
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_reads_never_wait_for_another_processs_write(tmp_path):
    # Another process (polling, retention) is in the middle of a write: the Slack side still reads at once
    # (WAL), it only waits to write.
    import time

    path = tmp_path / "d.db"
    store = Store(path)
    store.save_lines("a", "heroku", [LineRecord("1", NOW - timedelta(hours=1), "x", code="H12")])
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO seen_events (event_id, seen_at) VALUES ('Ev-writer', '')")
    reads = {
        "autodiagnose": lambda: store.autodiagnose("C1"),
        "card": lambda: store.card("nope"),
        "count_events": lambda: store.count_events("a", "H12", NOW - timedelta(days=1), NOW),
        "cursor": lambda: store.cursor("a"),
        "digest_record": lambda: store.digest_record("C1", "2026-11-24"),
        "digest_tally": lambda: store.digest_tally("a", "heroku", NOW - timedelta(days=8), NOW),
        "feedback_tally": lambda: store.feedback_tally(),
        "known_lines": lambda: store.known_lines("a", ["1", "2"]),
        "last_digest": lambda: store.last_digest(),
        "poll_health": lambda: store.poll_health("a", NOW),
        "poll_runs": lambda: store.poll_runs("a"),
        "query": lambda: store.query("SELECT COUNT(*) FROM events"),
        "version": lambda: store.version,
    }
    took = {}
    try:
        for name, read in reads.items():
            started = time.monotonic()
            read()
            took[name] = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert {name for name, seconds in took.items() if seconds > 1} == set()
    assert store.known_lines("a", ["1", "2"]) == {"1"} and store.first_sighting("Ev-writer")
    store.close()


def test_a_new_store_waits_out_another_processs_write_then_opens(tmp_path):
    # Switching a new file to WAL needs it whole: while another process writes, the store tries again.
    import threading
    import time

    path = tmp_path / "d.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE other_tool (x)")
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()
    started = time.monotonic()
    store = Store(path)
    took = time.monotonic() - started
    assert 0.25 < took < 0.9  # tried again every few hundredths of a second, so it opens soon after
    assert store.version == len(MIGRATIONS)
    assert store.engine.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
    other.close()


def test_a_start_up_step_is_tried_again_only_while_the_database_is_locked():
    tries: list[int] = []

    def locked() -> None:
        tries.append(1)
        raise sqlite3.OperationalError("database is locked")

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        Store._retry_locked(locked, tries=3)
    assert len(tries) == 3

    def broken() -> None:
        tries.append(2)
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        Store._retry_locked(broken, tries=3)
    assert tries.count(2) == 1


def test_a_process_that_finds_another_migrating_goes_on_from_where_it_stopped(tmp_path):
    # Two processes upgrade one file: the other one has just applied v4 and not yet committed when this
    # one looks. This one waits for the write lock, sees v4 done, and applies only what is left.
    import threading

    from bot.store import Db

    path = tmp_path / "d.db"
    old = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    old.execute("PRAGMA journal_mode=WAL")
    for number, migration in enumerate(MIGRATIONS[:3], 1):  # as version 3 left it
        migration(Db(old, "sqlite"))
        old.execute(f"PRAGMA user_version = {number}")
    old.execute("BEGIN IMMEDIATE")
    MIGRATIONS[3](Db(old, "sqlite"))
    old.execute("PRAGMA user_version = 4")
    opened: list[Store] = []
    start = threading.Thread(target=lambda: opened.append(Store(path)))
    start.start()
    start.join(0.3)
    old.execute("COMMIT")
    start.join(10)
    old.close()
    assert opened and opened[0].version == len(MIGRATIONS)
    opened[0].record_vote("a" * 32, "U1", "question", "code H12", 1)  # v4's table, made once
    assert opened[0].feedback_tally().up == 1
    opened[0].close()


def test_a_start_up_step_locked_for_good_is_given_up_after_a_hundred_tries():
    # About five seconds (100 tries, 50 ms apart), then the error says the file is locked.
    tries: list[int] = []

    def locked() -> None:
        tries.append(1)
        raise sqlite3.OperationalError("database is locked")

    with pytest.raises(sqlite3.OperationalError):
        Store._retry_locked(locked)
    assert len(tries) == 100


def test_a_write_waits_out_another_processs_write_of_several_seconds(tmp_path):
    # A long write elsewhere (a retention purge by another process, a backup): ours waits, up to 30 s,
    # rather than failing after SQLite's default 5 s.
    import threading
    import time

    from bot.store import _SQLite

    path = str(tmp_path / "d.db")
    engine = _SQLite(path)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE theirs (x)")
    threading.Timer(5.3, lambda: other.execute("COMMIT")).start()
    started = time.monotonic()
    with engine.transaction() as db:
        db.execute("CREATE TABLE ours (x)")
    assert time.monotonic() - started > 5.2
    assert {r[0] for r in engine.conn.execute("SELECT name FROM sqlite_master")} == {"theirs", "ours"}
    engine.close()
    other.close()


def test_a_file_that_is_not_a_database_is_explained_when_the_store_opens(tmp_path):
    from bot.store import StoreError

    path = tmp_path / "notes.db"
    path.write_bytes(b"these are notes, not a database; " * 100)
    with pytest.raises(StoreError) as caught:
        Store(path)
    assert str(caught.value) == (
        f"the database DYNODOC_DB={path} is not an SQLite database or is damaged; "
        "move it aside and the bot starts a new one"
    )
