"""`dynodoc poll --once` against a fake Heroku (Platform API + Logplex, SSE and plain text): the database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest
from clirun import child_environ
from clirun import dynodoc as dynodoc_subprocess
from fakes.fly import FakeFly
from fakes.fly import history as fly_history
from fakes.heroku import API_KEY, FakeHeroku, history, router
from pollkit import (
    configure,
    dynodoc,
    event_codes,
    expected_codes,
    expected_totals,
    line_for,
    rollup_totals,
    rows,
    runs,
    service_times,
)

from bot.config import WatchedApp, load_settings
from bot.digest import bucket_of, percentile
from bot.poll import HerokuTail, poll_all, poll_forever
from bot.sources._http import RetryPolicy
from bot.sources.heroku import HerokuLogs
from bot.store import Store

# Every test here runs on SQLite and on PostgreSQL (DATABASE_URL, set by the fixture, wins).
pytestmark = pytest.mark.usefixtures("database")

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
LINES = history(START)  # 144 lines: traffic, 6 H12, 2 H10, an R14, a crash and restart


@pytest.fixture
def heroku():
    fake = FakeHeroku()
    fake.add_app("shop-api", LINES)
    yield fake
    fake.close()


@pytest.fixture
def fly():
    fake = FakeFly()
    fake.add_app("shop-fly", fly_history(START))
    yield fake
    fake.close()


@pytest.mark.parametrize("stream", ["sse", "plain"])
def test_poll_once_stores_the_coded_events_and_the_hourly_rollups(monkeypatch, capsys, heroku, stream):
    heroku.add_app("shop-api", LINES, stream=stream)
    configure(monkeypatch, apps="heroku:shop-api", heroku=heroku)

    code, out, _ = dynodoc(capsys, "poll", "--once")

    assert code == 0
    assert line_for(out, "heroku:shop-api").split()[:2] == ["heroku:shop-api", "ok"]
    assert f"read {len(LINES)} lines, 9 new events (H12 (6), H10 (2), R14)" in out
    assert event_codes("shop-api") == expected_codes(LINES) == Counter({"H12": 6, "H10": 2, "R14": 1})
    h12 = rows("SELECT * FROM events WHERE code = 'H12' ORDER BY time")
    assert {(r["platform"], r["kind"], r["dyno"], r["path"], r["status"], r["service_ms"]) for r in h12} == {
        ("heroku", "router", "web.2", "/reports/export", 503, 30000)
    }
    assert all("s3cr3tvalue1234" not in r["line"] and "[REDACTED]" in r["line"] for r in h12)
    (r14,) = rows("SELECT dyno, kind FROM events WHERE code = 'R14'")
    assert (r14["dyno"], r14["kind"]) == ("web.1", "runtime")
    assert rows("SELECT COUNT(DISTINCT line_hash) AS n FROM events") == [{"n": 9}]
    rollups = rows("SELECT * FROM rollups WHERE app = 'shop-api'")
    assert rollup_totals("shop-api") == expected_totals(LINES)
    assert rollup_totals("shop-api")["requests"] == 128
    # The histogram merges hour by hour into exactly the distribution of the router lines' service times.
    merged: Counter = Counter()
    for row in rollups:
        merged.update({int(k): v for k, v in json.loads(row["service_hist"]).items()})
    assert merged == Counter(bucket_of(ms) for ms in service_times(LINES))
    hours = {row["hour"]: row for row in rollups}
    for hour, row in hours.items():
        hist = Counter({int(k): v for k, v in json.loads(row["service_hist"]).items()})
        assert (row["service_p50"], row["service_p95"]) == (percentile(hist, 0.5), percentile(hist, 0.95)), (
            hour
        )
    (run,) = runs("shop-api")
    assert (run["outcome"], run["lines_read"], run["new_events"], run["gap"], run["error"]) == (
        "ok",
        len(LINES),
        9,
        0,
        None,
    )
    assert json.loads(run["codes"]) == {"H12": 6, "H10": 2, "R14": 1}


def test_the_api_gets_the_key_and_logplex_never_does(monkeypatch, capsys, heroku):
    configure(monkeypatch, apps="heroku:shop-api", heroku=heroku)
    dynodoc(capsys, "poll", "--once")

    (post,) = heroku.requests_to("POST", "/apps/shop-api/log-sessions")
    assert post.headers["Authorization"] == f"Bearer {API_KEY}"
    assert post.headers["Accept"] == "application/vnd.heroku+json; version=3"
    assert post.body == {"lines": 1500, "tail": False}
    (stream,) = heroku.requests_to("GET", "/streams/")
    assert "Authorization" not in stream.headers
    assert "token=" in stream.query  # the session URL's own token is what authorises the stream


def test_a_second_poll_adds_nothing_and_new_lines_count_once(monkeypatch, capsys, heroku):
    configure(monkeypatch, apps="heroku:shop-api", heroku=heroku)
    dynodoc(capsys, "poll", "--once")
    before = rollup_totals("shop-api")

    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert code == 0
    assert f"read {len(LINES)} lines, 0 new events" in out
    assert event_codes("shop-api") == expected_codes(LINES)
    assert rollup_totals("shop-api") == before

    last = START + timedelta(hours=1)
    new = [
        router(last, "/api/cart", 200, 40),
        router(last + timedelta(seconds=1), "/api/cart", 200, 44),
        router(last + timedelta(seconds=2), "/api/orders/12", 503, 30001, code="H12", desc="Request timeout"),
    ]
    heroku.log("shop-api", *new)
    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert "1 new event (H12)" in out
    assert event_codes("shop-api") == expected_codes(LINES + new)
    assert rollup_totals("shop-api") == {
        "requests": before["requests"] + 3,
        "errors": before["errors"] + 1,
        "status_5xx": before["status_5xx"] + 1,
    }
    assert [r["gap"] for r in runs("shop-api")] == [0, 0, 0]


def test_a_gap_is_recorded_when_the_app_logged_more_than_the_history_holds(monkeypatch, capsys, heroku):
    configure(monkeypatch, apps="heroku:shop-api", heroku=heroku)
    dynodoc(capsys, "poll", "--once")
    newest_stored = max(datetime.fromisoformat(line.split()[0]) for line in LINES)

    burst_start = newest_stored + timedelta(minutes=10)
    burst = [
        router(burst_start + timedelta(milliseconds=100 * i), "/api/products", 200, 20) for i in range(1600)
    ]
    heroku.log("shop-api", *burst)  # Logplex keeps only the last 1,500: 100 lines are gone for good
    code, out, _ = dynodoc(capsys, "poll", "--once")

    kept = burst[-1500:]
    oldest_fetched = datetime.fromisoformat(kept[0].split()[0])
    assert code == 0
    assert f"read 1,500 lines, 0 new events · gap {newest_stored:%Y-%m-%d %H:%M:%S}" in out
    last = runs("shop-api")[-1]
    assert last["gap"] == 1
    assert datetime.fromisoformat(last["gap_from"]) == newest_stored
    assert datetime.fromisoformat(last["gap_to"]) == oldest_fetched
    assert rollup_totals("shop-api")["requests"] == expected_totals(LINES)["requests"] + 1500

    code, out, _ = dynodoc(capsys, "poll", "--once")  # overlapping again: no gap
    assert "gap" not in out and runs("shop-api")[-1]["gap"] == 0
    code, out, _ = dynodoc(capsys, "status")
    assert "heroku:shop-api  gaps" in out and "1 poll(s) with a gap" in out


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (401, "Heroku rejected HEROKU_API_KEY (401 unauthorized"),
        (403, "HEROKU_API_KEY may not read the logs of shop-api (403 forbidden"),
    ],
)
def test_a_rejected_token_fails_that_app_and_the_others_go_on(
    monkeypatch, capsys, heroku, fly, status, words
):
    heroku.add_app("shop-web", LINES[:40], stream="plain")
    heroku.fail("session", "shop-api", status, times=None)
    configure(monkeypatch, apps="heroku:shop-api,heroku:shop-web,fly:shop-fly", heroku=heroku, fly=fly)

    code, out, err = dynodoc(capsys, "poll", "--once")

    assert code == 1
    assert "failed" in line_for(out, "heroku:shop-api") and words in line_for(out, "heroku:shop-api")
    assert line_for(out, "heroku:shop-web").split()[1] == "ok"
    assert line_for(out, "fly:shop-fly").split()[1] == "ok"
    assert event_codes("shop-api") == Counter()
    assert event_codes("shop-web") == expected_codes(LINES[:40])
    assert sum(event_codes("shop-fly").values()) == 5
    assert len(heroku.requests_to("POST", "/apps/shop-api/")) == 1  # no retrying a rejected token
    (run,) = runs("shop-api")
    assert run["outcome"] == "failed" and words in run["error"]

    code, status_out, _ = dynodoc(capsys, "status")
    assert "heroku:shop-api  FAILING" in status_out and words in status_out
    assert "heroku:shop-web  healthy" in status_out
    assert API_KEY not in out + err + status_out


def test_an_unknown_app_is_named_clearly(monkeypatch, capsys, heroku):
    configure(monkeypatch, apps="heroku:shop-api,heroku:shop-apj", heroku=heroku)
    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert code == 1
    assert (
        "error: no Heroku app named shop-apj (404 not_found: Couldn't find that app.); check DYNODOC_APPS"
        in line_for(out, "heroku:shop-apj")
    )
    assert line_for(out, "heroku:shop-api").split()[1] == "ok"


def test_429_retry_after_is_honoured_then_the_poll_succeeds(monkeypatch, capsys, heroku):
    heroku.fail("session", "shop-api", 429, headers={"Retry-After": "1", "RateLimit-Remaining": "0"})
    configure(monkeypatch, apps="heroku:shop-api", heroku=heroku)
    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert code == 0 and "9 new events" in out
    first, second = heroku.requests_to("POST", "/apps/shop-api/")
    assert second.at - first.at >= 1.0  # not the 10 ms backoff base: the server's Retry-After
    assert event_codes("shop-api") == expected_codes(LINES)


def test_a_long_rate_limit_fails_the_app_and_skips_the_platform_until_the_next_poll(
    monkeypatch, capsys, heroku, fly
):
    heroku.add_app("shop-web", LINES[:40])
    heroku.fail("session", "shop-api", 429, headers={"Retry-After": "3600"})
    configure(monkeypatch, apps="heroku:shop-api,heroku:shop-web,fly:shop-fly", heroku=heroku, fly=fly)
    started = time.monotonic()
    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert time.monotonic() - started < 5
    assert code == 1
    assert "asked to wait 3600 s" in line_for(out, "heroku:shop-api")
    assert "skipped" in line_for(out, "heroku:shop-web")
    assert heroku.requests_to("POST", "/apps/shop-web/") == []
    assert line_for(out, "fly:shop-fly").split()[1] == "ok"
    assert runs("shop-web")[0]["outcome"] == "skipped"

    code, out, _ = dynodoc(capsys, "poll", "--once")  # the next poll: the limit has passed
    assert code == 0 and event_codes("shop-web") == expected_codes(LINES[:40])


def test_low_ratelimit_remaining_slows_the_next_call_down(heroku, store):
    heroku.add_app("shop-web", LINES[:40])
    heroku.rate_remaining = 3  # the first session leaves 2 in the pool
    waits: list[float] = []
    policy = RetryPolicy(base=0.01, sleep=waits.append)
    settings = load_settings(
        {
            "DYNODOC_APPS": "heroku:shop-api,heroku:shop-web",
            "HEROKU_API_KEY": API_KEY,
            "HEROKU_API_URL": heroku.url,
            "DYNODOC_DB": ":memory:",
        },
        dotenv=None,
    )
    results = poll_all(settings, store, policy=policy)
    assert [r.outcome for r in results] == ["ok", "ok"]
    assert waits == [pytest.approx(0.01 * (5 + 1 - 2))]


def test_server_errors_are_retried_with_backoff_then_succeed(monkeypatch, capsys, heroku):
    heroku.fail("session", "shop-api", 500, times=2)
    configure(monkeypatch, apps="heroku:shop-api", heroku=heroku)
    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert code == 0 and "9 new events" in out
    assert len(heroku.requests_to("POST", "/apps/shop-api/")) == 3


def test_a_lasting_outage_gives_up_after_bounded_retries(monkeypatch, capsys, heroku):
    heroku.fail("session", "shop-api", 503, times=None)
    configure(monkeypatch, apps="heroku:shop-api", heroku=heroku)
    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert code == 1
    assert (
        "Heroku API error (503 internal_server_error: Internal server error.) (gave up after 4 tries)" in out
    )
    assert len(heroku.requests_to("POST", "/apps/shop-api/")) == 4
    assert event_codes("shop-api") == Counter()


def test_a_slow_answer_times_out_and_is_retried(monkeypatch, capsys, heroku):
    heroku.fail("session", "shop-api", delay=1.0)
    configure(monkeypatch, apps="heroku:shop-api", heroku=heroku, DYNODOC_HTTP_TIMEOUT="0.25")
    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert code == 0 and "9 new events" in out
    assert len(heroku.requests_to("POST", "/apps/shop-api/")) == 2


@pytest.mark.parametrize("stream", ["sse", "plain"])
def test_a_stream_cut_once_is_read_again_without_doubles(monkeypatch, capsys, heroku, stream):
    heroku.add_app("shop-api", LINES, stream=stream)
    heroku.fail("stream", "shop-api", cut_after=50)
    configure(monkeypatch, apps="heroku:shop-api", heroku=heroku)
    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert code == 0 and f"read {len(LINES)} lines, 9 new events" in out
    assert len(heroku.requests_to("POST", "/apps/shop-api/")) == 2
    assert event_codes("shop-api") == expected_codes(LINES)
    assert rollup_totals("shop-api") == expected_totals(LINES)


@pytest.mark.parametrize("stream", ["sse", "plain"])
def test_a_stream_that_keeps_breaking_keeps_what_it_read(monkeypatch, capsys, heroku, stream):
    heroku.add_app("shop-api", LINES, stream=stream)
    heroku.fail("stream", "shop-api", cut_after=60, times=None)
    configure(monkeypatch, apps="heroku:shop-api", heroku=heroku)
    code, out, _ = dynodoc(capsys, "poll", "--once")

    first = LINES[:60]  # the 61st line arrived half-written each time and is not stored
    assert code == 0
    assert "partial" in line_for(out, "heroku:shop-api")
    assert "kept the 60 lines read" in out
    assert event_codes("shop-api") == expected_codes(first)
    assert rollup_totals("shop-api") == expected_totals(first)
    assert runs("shop-api")[0]["outcome"] == "partial"

    heroku.faults.clear()  # the next poll reads it all: the rest is added, nothing twice
    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert code == 0
    assert event_codes("shop-api") == expected_codes(LINES)
    assert rollup_totals("shop-api") == expected_totals(LINES)


def test_a_fir_app_is_reported_as_having_no_history(monkeypatch, capsys, heroku):
    heroku.add_app("shop-fir", LINES, generation="fir")
    configure(monkeypatch, apps="heroku:shop-fir", heroku=heroku)
    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert code == 0 and "read 0 lines" in out and "Fir-generation app" in out
    code, out, _ = dynodoc(capsys, "status")
    assert "heroku:shop-fir  no history" in out and "DYNODOC_HEROKU_TAIL=1" in out


def test_tail_mode_keeps_a_session_open_and_reopens_it(heroku, store):
    heroku.tail_seconds = 0.3  # sessions end quickly, so the tail must reopen them
    source = HerokuLogs(API_KEY, base_url=heroku.url, policy=RetryPolicy(base=0.01))
    tail = HerokuTail(WatchedApp("heroku", "shop-api"), source, store, flush_seconds=0.1).start()
    try:
        later = START + timedelta(hours=2)
        heroku.wait_for("GET", "/streams/")  # the first session is streaming
        new = router(later, "/api/cart", 503, 30000, code="H12", desc="Request timeout")
        heroku.log("shop-api", new)
        heroku.wait_for("POST", "/apps/shop-api/", count=3)  # and it was reopened twice since
        result = tail.report()
    finally:
        tail.stop.set()
        source.close()
    posts = heroku.requests_to("POST", "/apps/shop-api/")
    assert len(posts) >= 3 and all(p.body["tail"] is True for p in posts)
    assert result.new_events == 10 and dict(result.codes) == {"H12": 7, "H10": 2, "R14": 1}
    assert store.query("SELECT COUNT(*) FROM events") == [(10,)]
    # Every reopened session replayed the history; none of it was counted twice.
    ((requests, errors),) = store.query("SELECT SUM(requests), SUM(errors) FROM rollups")
    totals = expected_totals([*LINES, new])
    assert (requests, errors) == (totals["requests"], totals["errors"])


def test_a_tail_stopped_by_closing_its_client_ends_quietly(heroku):
    # Shutting down sets the tail's stop and closes the shared client at once; a tail thread between two
    # sessions then met a closed client and died with a RuntimeError (seen once in a CI run).
    source = HerokuLogs(API_KEY, base_url=heroku.url, policy=RetryPolicy(base=0.01))
    stop = threading.Event()

    def shut_down() -> None:  # as poll_forever's `finally` does, right as a session opens
        stop.set()
        source.close()

    source.tail("shop-api", lambda line: None, stop, on_open=shut_down)  # returns; nothing raised
    assert stop.is_set() and len(heroku.requests_to("POST", "/apps/shop-api/")) == 1


def test_polling_without_the_key_is_a_one_line_config_error(monkeypatch, capsys):
    monkeypatch.setenv("DYNODOC_APPS", "heroku:shop-api,fly:shop-fly")
    monkeypatch.setenv("FLY_API_TOKEN", "fm2_whatever0000000000000000")
    code, out, err = dynodoc(capsys, "poll", "--once")
    assert code == 2 and out == ""
    assert err == "dynodoc: DYNODOC_APPS names Heroku apps (shop-api) but HEROKU_API_KEY is not set\n"


def test_the_real_command_never_prints_or_stores_the_key(heroku, tmp_path):
    heroku.fail("session", "shop-api", 401, times=None)
    heroku.add_app("shop-web", LINES[:20])
    env = {
        "DYNODOC_APPS": "heroku:shop-api,heroku:shop-web",
        "HEROKU_API_KEY": API_KEY,
        "HEROKU_API_URL": heroku.url,
        "DYNODOC_DB": str(tmp_path / "cli.db"),
        "DYNODOC_RETRY_BASE": "0.01",
    }
    poll = dynodoc_subprocess("poll", "--once", env=env)
    status = dynodoc_subprocess("status", env=env)
    assert poll.returncode == 1, poll.stderr
    assert "Heroku rejected HEROKU_API_KEY" in poll.stdout and "heroku:shop-web  ok" in poll.stdout
    assert "FAILING" in status.stdout
    everything = poll.stdout + poll.stderr + status.stdout + status.stderr
    assert API_KEY not in everything and "logplex-session-token" not in everything
    if os.environ.get("DATABASE_URL"):  # the command stored into PostgreSQL: read every text it kept
        with closing(Store(os.environ["DATABASE_URL"])) as store:
            stored = repr([store.query(f"SELECT * FROM {t}") for t in ("events", "poll_runs", "cursors")])
        assert "shop-web" in stored and API_KEY not in stored
    else:
        assert API_KEY.encode() not in b"".join(p.read_bytes() for p in tmp_path.glob("cli.db*"))


def test_poll_forever_polls_each_round_until_stopped(heroku, fly, store):
    settings = load_settings(
        {
            "DYNODOC_APPS": "heroku:shop-api,fly:shop-fly",
            "HEROKU_API_KEY": API_KEY,
            "HEROKU_API_URL": heroku.url,
            "FLY_API_TOKEN": fly.token,
            "FLY_API_URL": fly.url,
        },
        dotenv=None,
    )
    stop = threading.Event()
    seen = []

    def on_result(result):
        seen.append((str(result.app), result.outcome, result.new_events))
        stop.set()  # one round only: the wait after it returns at once

    poll_forever(settings, store, on_result=on_result, stop=stop, policy=RetryPolicy(base=0.01))
    assert seen == [("heroku:shop-api", "ok", 9), ("fly:shop-fly", "ok", 5)]


def test_dynodoc_poll_loops_until_ctrl_c(heroku, tmp_path):
    env = child_environ(
        DYNODOC_APPS="heroku:shop-api",
        HEROKU_API_KEY=API_KEY,
        HEROKU_API_URL=heroku.url,
        DYNODOC_DB=str(tmp_path / "loop.db"),
        PYTHONUNBUFFERED="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "poll"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()  # the first round's line, then it sleeps DYNODOC_POLL_MINUTES
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert first.startswith("heroku:shop-api  ok") and "9 new events" in first
    assert proc.returncode == 0, err
    assert "every 5 min" in err and "Traceback" not in err
