"""The polling side of the store: one-transaction saves, mergeable rollups, retention; on both engines."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import LineRecord, PollRun, Store, iso

NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)


def rec(
    n: int, t: datetime, *, code: str | None = None, service: int | None = 40, status: int = 200
) -> LineRecord:
    return LineRecord(
        line_hash=f"h{n:05d}",
        time=t,
        line=f"line {n}",
        code=code,
        kind="router",
        dyno="web.1",
        path="/x",
        status=status,
        service_ms=service,
        request=True,
    )


def counts(store: Store) -> dict[str, int]:
    return {
        t: store.query(f"SELECT COUNT(*) FROM {t}")[0][0]
        for t in ("events", "rollups", "seen_lines", "cursors", "poll_runs")
    }


def test_a_batch_is_one_transaction_a_failure_midway_stores_nothing(store):

    def lines():
        yield rec(1, NOW, code="H12", status=503)
        yield rec(2, NOW)
        raise RuntimeError("the process dies mid-batch")

    with pytest.raises(RuntimeError):
        store.save_lines("shop-api", "fly", lines(), cursor="1795493155000000789")
    assert counts(store) == {"events": 0, "rollups": 0, "seen_lines": 0, "cursors": 0, "poll_runs": 0}
    assert store.cursor("shop-api") is None

    saved = store.save_lines(
        "shop-api", "fly", [rec(1, NOW, code="H12", status=503), rec(2, NOW)], cursor="17"
    )
    assert (saved.new_lines, saved.new_events, saved.codes) == (2, 1, {"H12": 1})
    assert store.cursor("shop-api").cursor == "17"
    again = store.save_lines("shop-api", "fly", [rec(1, NOW, code="H12", status=503), rec(2, NOW)])
    assert (again.new_lines, again.new_events) == (0, 0)
    assert store.cursor("shop-api").cursor == "17"  # kept when the batch brings no new token


def test_rollups_merge_batch_by_batch_to_what_one_batch_gives(database, tmp_path):
    services = [5, 12, 40, 40, 90, 140, 480, 1200, 3100, 30000] * 3
    records = [
        rec(
            i,
            NOW + timedelta(minutes=i % 50),
            code="H12" if ms >= 30000 else None,
            service=ms,
            status=503 if ms >= 30000 else 200,
        )
        for i, ms in enumerate(services)
    ]
    one, many = Store(database), Store(database)
    one.save_lines("a", "heroku", records)
    for start in range(0, len(records), 7):
        many.save_lines(
            "b", "heroku", [replace(r, line_hash="b" + r.line_hash) for r in records[start : start + 7]]
        )

    def rollups(app: str) -> list[tuple]:
        return one.query("SELECT * FROM rollups WHERE app = ? ORDER BY hour", [app])

    assert [r[1:] for r in rollups("a")] == [r[1:] for r in rollups("b")]
    many.close()
    rows = {r[1]: r for r in rollups("a")}
    total = sum(r[2] for r in rows.values())
    assert total == 30 and sum(r[3] for r in rows.values()) == 3 and sum(r[4] for r in rows.values()) == 3
    assert all(sum(json.loads(r[5]).values()) == r[2] for r in rows.values())
    one.close()


def test_retention_drops_old_rows_and_too_old_lines_are_never_stored(store):
    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=1)
    store.save_lines("a", "heroku", [rec(1, old, code="H10"), rec(2, recent, code="H10")])
    store.record_run(PollRun("a", "heroku", old, old))
    store.record_run(PollRun("a", "heroku", recent, recent))
    assert counts(store)["events"] == 2

    deleted = store.enforce_retention(30)

    assert deleted == {"events": 1, "code_hours": 1, "rollups": 1, "poll_runs": 1, "seen_lines": 1}
    assert store.query("SELECT line FROM events") == [("line 2",)]
    saved = store.save_lines("a", "heroku", [rec(3, old, code="H10")], keep_after=NOW - timedelta(days=30))
    assert saved.new_lines == 0 and counts(store)["events"] == 1


def test_line_hashes_the_platform_cannot_send_again_are_forgotten(store):
    store.save_lines("a", "heroku", [rec(i, NOW - timedelta(hours=5 - i)) for i in range(5)])
    store.save_lines("a", "heroku", [rec(9, NOW)], forget_seen_before=NOW - timedelta(hours=2, minutes=30))
    assert [r[0] for r in store.query("SELECT line_hash FROM seen_lines ORDER BY time")] == [
        "h00003",
        "h00004",
        "h00009",
    ]
    assert store.cursor("a").newest_time == NOW


def test_health_counts_failures_in_a_row_until_the_last_good_poll(store):
    for minutes, outcome in [(30, "ok"), (20, "failed"), (10, "skipped"), (5, "failed")]:
        t = NOW - timedelta(minutes=minutes)
        store.record_run(
            PollRun("a", "heroku", t, t, outcome=outcome, error=None if outcome == "ok" else "x")
        )
    health = store.poll_health("a")
    assert health.failures_in_a_row == 3
    assert health.last_ok == NOW - timedelta(minutes=30)
    assert health.last.outcome == "failed"


def test_digest_coverage_counts_partial_polls_as_done(tmp_path):
    # One hour of polling every 5 minutes: 13 polls called for; a partial poll read the logs (some lines,
    # then an error), so it covered its stretch; a failed one did not.
    store = Store(tmp_path / "d.db")
    until = NOW.replace(minute=0) - timedelta(hours=1)
    outcomes = ["ok"] * 10 + ["partial", "partial", "failed"]
    for i, outcome in enumerate(outcomes):
        started = until - timedelta(minutes=61) + timedelta(minutes=5 * i)
        store.record_run(
            PollRun(
                "shop-api", "heroku", started, started, outcome, error="boom" if outcome == "failed" else None
            )
        )
    tally = store.digest_tally("shop-api", "heroku", until - timedelta(days=8), until, poll_minutes=5)
    assert (tally.polls_done, tally.polls_expected) == (12, 13)
    assert tally.poll_error == "boom"  # the last poll failed


def test_rollups_count_every_5xx_from_500_up(tmp_path):
    store = Store(tmp_path / "d.db")
    t = NOW - timedelta(hours=2)
    records = [
        rec(i, t + timedelta(seconds=i), status=s) for i, s in enumerate((200, 404, 499, 500, 502, 503))
    ]
    store.save_lines("shop-api", "heroku", records)
    [(requests, status_5xx)] = store.query("SELECT requests, status_5xx FROM rollups")
    assert (requests, status_5xx) == (6, 3)
    tally = store.digest_tally("shop-api", "heroku", t - timedelta(days=1), t + timedelta(hours=1))
    assert sum(tally.server_errors.values()) == 3 and sum(tally.requests.values()) == 6


def test_a_batch_merges_into_an_hours_rollup_whatever_that_row_lacks(store):
    # An hour's row from an older bot (no request count, no histogram) and one with other errors than
    # 5xx (an R14 is an error of no request): the next batch adds to each count it has.
    hour = NOW.replace(minute=0) - timedelta(hours=3)
    store.execute(
        "INSERT INTO rollups (app, hour, requests, errors, status_5xx, service_hist) VALUES (?, ?, NULL, 4, 1, NULL)",
        ["a", iso(hour)],
    )
    store.save_lines(
        "a",
        "heroku",
        [
            rec(1, hour + timedelta(minutes=1), code="H12", status=503, service=30000),
            LineRecord(
                "r14", hour + timedelta(minutes=2), "R14 line", code="R14", kind="runtime", dyno="web.1"
            ),
        ],
    )
    assert store.query("SELECT requests, errors, status_5xx, service_hist FROM rollups WHERE app = 'a'") == [
        (1, 6, 2, '{"21": 1}')
    ]


def test_health_reads_the_last_200_runs_for_failures_in_a_row(store):
    store.insert_rows(
        "poll_runs",
        [
            {
                "app": "a",
                "platform": "heroku",
                "started": iso(NOW - timedelta(minutes=i)),
                "finished": iso(NOW - timedelta(minutes=i)),
                "outcome": "failed",
                "error": "boom",
                "gap": 0,
            }
            for i in range(1, 202)
        ],
    )
    health = store.poll_health("a", NOW)
    assert (health.failures_in_a_row, health.last_ok) == (200, None)
