"""`dynodoc poll --once` against a fake Fly.io logs API: events, paging, the persisted cursor, faults."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from fakes.fly import FLY_TOKEN, FakeFly, entry, history, ns
from pollkit import configure, dynodoc, event_codes, line_for, rollup_totals, rows, runs, target

from bot.sources.fly import FlyEntry, authorization
from bot.store import Store

# Every test here runs on SQLite and on PostgreSQL (DATABASE_URL, set by the fixture, wins).
pytestmark = pytest.mark.usefixtures("database")

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
ENTRIES = history(
    START
)  # 12 entries: 3 PC01, a PR04, an old-style PU02 without its prefix, app and runner lines
CODES = Counter({"PC01": 3, "PR04": 1, "PU02": 1})


@pytest.fixture
def fly():
    fake = FakeFly()
    fake.add_app("shop-fly", ENTRIES)
    yield fake
    fake.close()


def stored_cursor(app: str = "shop-fly") -> str:
    return rows("SELECT cursor FROM cursors WHERE app = ?", [app])[0]["cursor"]


def test_poll_once_stores_fly_events_with_codes_machines_and_regions(monkeypatch, capsys, fly):
    configure(monkeypatch, apps="fly:shop-fly", fly=fly)
    code, out, _ = dynodoc(capsys, "poll", "--once")

    assert code == 0
    assert "fly:shop-fly  ok      · read 12 lines, 5 new events (PC01 (3), PR04, PU02)" in out
    assert event_codes("shop-fly") == CODES
    last = {r["code"]: r for r in rows("SELECT * FROM events ORDER BY time")}  # the last of each
    pc01 = last["PC01"]
    assert (pc01["platform"], pc01["kind"], pc01["dyno"], pc01["region"], pc01["status"], pc01["path"]) == (
        "fly",
        "proxy",
        "e2862692b79d68",
        "sin",
        502,
        "/api/items/{id}",
    )
    assert pc01["line"].startswith(
        ENTRIES[5]["attributes"]["timestamp"] + " proxy[e2862692b79d68] sin [error][PC01]"
    )
    assert (last["PR04"]["dyno"], last["PR04"]["region"]) == ("3d8d9e0c5e1e89", "ams")
    assert "[PU02]" not in last["PU02"]["line"]  # mapped from the knowledge base's old wording
    assert rollup_totals("shop-fly") == {"requests": 0, "errors": 5, "status_5xx": 4}
    assert stored_cursor() == str(ns(START + timedelta(seconds=30)))
    assert fly.requests_for("shop-fly")[0].params == {"next_token": ""}  # always sent, empty the first time
    assert fly.requests_for("shop-fly")[0].auth == f"FlyV1 {FLY_TOKEN}"


def test_pages_are_followed_and_the_cursor_survives_a_restart(monkeypatch, capsys, fly):
    fly.page_size = 4
    configure(monkeypatch, apps="fly:shop-fly", fly=fly)
    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert "read 4 lines, 1 new event (PU02)" in out  # an empty token gets the most recent page, as in flyctl
    assert stored_cursor() == str(ns(START + timedelta(seconds=30)))

    later = [
        entry(
            START + timedelta(minutes=5, seconds=i),
            f"[PC01] instance refused connection #{i}",
            provider="proxy",
            level="error",
        )
        for i in range(9)
    ]
    fly.log("shop-fly", *later)
    code, out, _ = dynodoc(capsys, "poll", "--once")  # a new Store and client: the token comes from the DB
    assert code == 0 and "read 9 lines, 9 new events (PC01 (9))" in out
    tokens = [r.params["next_token"] for r in fly.requests_for("shop-fly")]
    assert tokens[:2] == ["", str(ns(START + timedelta(seconds=30)))]
    # Pages of 4, 4 and 1 from the stored token, then the empty page that means "up to date".
    assert tokens[2:] == [str(ns(START + timedelta(seconds=s))) for s in (30, 303, 307, 308)]
    assert stored_cursor() == str(ns(START + timedelta(minutes=5, seconds=8)))

    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert "read 0 lines, 0 new events" in out
    assert event_codes("shop-fly") == Counter({"PC01": 9, "PU02": 1})


def test_a_page_that_fails_midway_keeps_the_pages_before_and_the_next_poll_resumes(monkeypatch, capsys, fly):
    fly.page_size = 4
    fly.add_app("shop-fly", ENTRIES[:1])
    configure(monkeypatch, apps="fly:shop-fly", fly=fly)
    dynodoc(capsys, "poll", "--once")
    assert stored_cursor() == str(ns(START + timedelta(seconds=1)))
    fly.log("shop-fly", *ENTRIES[1:])
    fly.fail("shop-fly", 500, times=None, after=1)  # page 1 answers, page 2 fails every time

    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert code == 0
    assert "partial" in line_for(out, "fly:shop-fly")
    assert "gave up after 4 tries" in out and "kept the 4 lines read from 1 page(s)" in out
    assert event_codes("shop-fly") == Counter({"PC01": 2})  # runner, app, PC01, PC01
    assert stored_cursor() == str(ns(START + timedelta(seconds=10)))

    fly.faults.clear()
    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert code == 0 and "read 7 lines, 3 new events" in out
    assert event_codes("shop-fly") == CODES
    assert rollup_totals("shop-fly")["errors"] == 5
    assert [r["outcome"] for r in runs("shop-fly")] == ["ok", "partial", "ok"]


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (401, "Fly.io rejected FLY_API_TOKEN (401 You must be authenticated to view this.)"),
        (403, "FLY_API_TOKEN may not read the logs of shop-fly"),
        (404, "no Fly.io app named shop-fly (404 Could not find App); check DYNODOC_APPS"),
    ],
)
def test_fly_errors_fail_the_app_with_the_reason(monkeypatch, capsys, fly, status, words):
    fly.add_app("other-fly", ENTRIES[:5])
    fly.fail("shop-fly", status, times=None)
    configure(monkeypatch, apps="fly:shop-fly,fly:other-fly", fly=fly)
    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert code == 1
    assert words in line_for(out, "fly:shop-fly")
    assert len(fly.requests_for("shop-fly")) == 1
    assert event_codes("other-fly") == Counter({"PC01": 2})
    code, out, _ = dynodoc(capsys, "status")
    assert "fly:shop-fly   FAILING" in out and words in out and FLY_TOKEN not in out


def test_a_wrong_token_is_rejected_and_never_shown(monkeypatch, capsys, fly):
    configure(monkeypatch, apps="fly:shop-fly", fly=fly, FLY_API_TOKEN="fm2_wrongtokenAAAAAAAAAAAAAAAAAAAAAA")
    code, out, err = dynodoc(capsys, "poll", "--once")
    assert code == 1 and "Fly.io rejected FLY_API_TOKEN" in out
    assert "wrongtoken" not in out + err


def test_429_and_timeouts_are_retried(monkeypatch, capsys, fly):
    fly.fail("shop-fly", 429, headers={"Retry-After": "0.3"})
    fly.fail("shop-fly", delay=0.8)
    configure(monkeypatch, apps="fly:shop-fly", fly=fly, DYNODOC_HTTP_TIMEOUT="0.3")
    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert code == 0 and "5 new events" in out
    first, second, third = fly.requests_for("shop-fly")[:3]
    assert second.at - first.at >= 0.3
    assert event_codes("shop-fly") == CODES


@pytest.mark.parametrize(
    ("token", "header"),
    [
        ("fm2_lJPEabc,fm2_lJPEdef", "FlyV1 fm2_lJPEabc,fm2_lJPEdef"),
        ("FlyV1 fm2_lJPEabc", "FlyV1 fm2_lJPEabc"),
        ("fm1r_abc", "FlyV1 fm1r_abc"),
        ("personal-access-token-123", "Bearer personal-access-token-123"),
    ],
)
def test_authorization_header_by_token_kind(token, header):
    assert authorization(token) == header


def test_a_plain_token_goes_as_bearer_to_the_api(monkeypatch, capsys):
    fake = FakeFly(token="personal0access0token0123456789")
    fake.add_app("shop-fly", ENTRIES)
    try:
        configure(monkeypatch, apps="fly:shop-fly", fly=fake)
        code, _, _ = dynodoc(capsys, "poll", "--once")
        assert code == 0
        assert fake.requests_for("shop-fly")[0].auth == "Bearer personal0access0token0123456789"
    finally:
        fake.close()


def test_entries_are_read_with_any_key_casing_and_rendered_as_flyctl_does():
    item = {
        "Id": "1",
        "Attributes": {
            "Timestamp": "2026-05-11T14:59:02.123456789Z",
            "Message": "[PM05] failed",
            "Level": "error",
            "Instance": "e286",
            "Region": "sin",
            "Meta": {"Event": {"Provider": "proxy"}},
        },
    }
    e = FlyEntry.from_api(item)
    assert e is not None
    assert e.line == "2026-05-11T14:59:02.123456789Z proxy[e286] sin [error][PM05] failed"
    assert FlyEntry.from_api({"attributes": {"message": 5}}) is None


def test_a_cursor_older_than_the_api_keeps_means_a_gap(monkeypatch, capsys, fly):
    configure(monkeypatch, apps="fly:shop-fly", fly=fly)
    long_ago = datetime.now(UTC) - timedelta(days=9)
    store = Store(target())
    store.save_lines("shop-fly", "fly", [], cursor=str(ns(long_ago)))  # the bot was off for nine days
    store.close()
    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert code == 0 and "read 12 lines" in out and f"gap {long_ago:%Y-%m-%d %H:%M:%S}" in out
    run = runs("shop-fly")[-1]
    assert run["gap"] == 1
    assert datetime.fromisoformat(run["gap_to"]) == START + timedelta(seconds=1)

    code, out, _ = dynodoc(capsys, "poll", "--once")
    assert "gap" not in out and runs("shop-fly")[-1]["gap"] == 0
