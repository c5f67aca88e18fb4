"""The schedule: digests from stored events, posted exactly once per channel and day, on time, in a time zone.

The bot's real WebClient talks to the fake Slack on 127.0.0.1; a crash is simulated by doing what the
first process did before it died (record the intent, post the message) and then starting over.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest
from fakes.slack import BOT_TOKEN, FakeSlack
from slack_sdk import WebClient

from bot.config import Settings, WatchedApp
from bot.jobs import (
    DIGEST_EVENT,
    build_stored_digest,
    digest_trigger,
    last_due,
    polled_apps,
    post_daily_digest,
    run_poll,
    start_scheduler,
)
from bot.render.text import render_digest
from bot.store import PollRun, Store, iso

CHANNEL = "C0DIGEST"
NOW = datetime(2026, 11, 24, 9, 0, 30, tzinfo=UTC)  # just after the 09:00 UTC digest time


@pytest.fixture
def fake():
    slack = FakeSlack()
    yield slack
    slack.close()


@pytest.fixture
def client(fake):
    return WebClient(token=BOT_TOKEN, base_url=fake.api_url)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "dynodoc.db")
    yield s
    s.close()


def settings(**changes) -> Settings:
    base = dict(
        apps=(WatchedApp("heroku", "acme-api"), WatchedApp("fly", "acme-edge")),
        digest_channel=CHANNEL,
        digest_time=clock(9, 0),
        tz="UTC",
        poll_minutes=5,
    )
    return Settings(**{**base, **changes})


def add_events(store: Store, app: str, code: str, times: list[datetime], path: str = "/orders/7") -> None:
    store.db["events"].insert_all(
        {
            "app": app,
            "platform": "heroku",
            "time": iso(t),
            "code": code,
            "kind": "router",
            "dyno": "web.1",
            "path": path,
            "status": 503,
            "service_ms": 30000,
            "line": "x",
            "line_hash": f"{app}{code}{t}",
        }
        for t in times
    )


def digest_posts(fake: FakeSlack) -> list:
    return [c for c in fake.calls_to("chat.postMessage", channel=CHANNEL) if "thread_ts" not in c.params]


def test_digest_from_stored_events_with_known_counts(store):
    end = datetime(2026, 11, 24, 9, tzinfo=UTC)
    add_events(store, "acme-api", "H12", [end - timedelta(hours=h) for h in (1, 2, 3, 5)])  # last 24 h: 4
    add_events(store, "acme-api", "H12", [end - timedelta(hours=30)])  # the day before: 1
    add_events(store, "acme-api", "R14", [end - timedelta(days=20)])  # long ago only
    add_events(store, "acme-api", "H10", [end - timedelta(hours=2)])  # first time ever: new
    store.db["rollups"].insert(
        {
            "app": "acme-api",
            "hour": iso(end - timedelta(hours=1)),
            "requests": 400,
            "errors": 5,
            "status_5xx": 5,
            "service_hist": '{"5": 370, "21": 30}',
        }
    )
    for i in range(10):
        started = end - timedelta(minutes=5 * (i + 1))
        store.record_run(PollRun("acme-api", "heroku", started, started + timedelta(seconds=2), "ok", 100, 0))
    gap_at = end - timedelta(minutes=20)
    store.record_run(
        PollRun(
            "acme-api",
            "heroku",
            gap_at,
            gap_at,
            "ok",
            1500,
            0,
            gap_from=gap_at - timedelta(minutes=5),
            gap_to=gap_at,
        )
    )
    store.record_run(
        PollRun(
            "acme-edge",
            "fly",
            end - timedelta(minutes=3),
            end - timedelta(minutes=3),
            "failed",
            error="Fly.io rejected FLY_API_TOKEN (401)",
        )
    )

    digest = build_stored_digest(store, settings(), end)
    api, edge = {a.app: a for a in digest.apps}["acme-api"], {a.app: a for a in digest.apps}["acme-edge"]
    codes = {s.code: s for s in api.codes}
    assert set(codes) == {"H12", "H10"}
    assert (codes["H12"].count, codes["H12"].previous, codes["H12"].new) == (4, 1, False)
    assert codes["H10"].new is True
    assert codes["H12"].paths == (("/orders/{id}", 4),)
    assert api.requests == 400 and api.p95_ms == 30000
    assert (api.polls_done, api.polls_expected) == (11, 11)
    assert len(api.gaps) == 1
    assert edge.poll_error == "Fly.io rejected FLY_API_TOKEN (401)"
    assert [a.app for a in digest.apps] == ["acme-edge", "acme-api"]  # a failing poll is the most trouble
    text = render_digest(digest)
    assert "polled 11 of 11 times; 1 gap, 08:35–08:40, lines may be missing" in text


def test_posted_exactly_once_across_a_restart(fake, client, store):
    add_events(store, "acme-api", "H12", [NOW - timedelta(hours=1)] * 1)
    assert post_daily_digest(client, store, settings(), NOW) == f"posted the 2026-11-24 digest to {CHANNEL}"
    # A restart later that day: the record says it is posted.
    assert post_daily_digest(client, store, settings(), NOW + timedelta(hours=3)).startswith("already posted")
    posts = digest_posts(fake)
    assert len(posts) == 1
    assert posts[0].params["metadata"] == {"event_type": DIGEST_EVENT, "event_payload": {"day": "2026-11-24"}}
    assert store.digest_record(CHANNEL, "2026-11-24")["state"] == "posted"
    # Per-code details go into the digest's thread.
    thread = fake.calls_to(
        "chat.postMessage", channel=CHANNEL, thread_ts=store.digest_record(CHANNEL, "2026-11-24")["ts"]
    )
    assert thread and "H12" in str(thread[0].params["blocks"])


def today() -> tuple[datetime, str, Settings]:
    """Now, the key of the digest due most recently, and settings whose digest time is six hours ago.

    These tests run on the real clock (the fake Slack stamps messages with it), and step up to 30 minutes
    ahead: with the digest due at 09:00 they failed whenever the suite ran between 08:30 and 09:00 UTC,
    when the step crossed the due time into the next day's digest."""
    now = datetime.now(UTC)
    due_at = (now - timedelta(hours=6)).time().replace(second=0, microsecond=0)
    real = settings(digest_time=due_at)
    return now, last_due(real, now).date().isoformat(), real


def test_a_crash_between_posting_and_recording_does_not_post_twice(fake, client, store):
    now, day, real = today()
    # The first process recorded its intent and posted, then died before marking it posted.
    assert store.claim_digest(CHANNEL, day)
    first = client.chat_postMessage(
        channel=CHANNEL, text="digest", metadata={"event_type": DIGEST_EVENT, "event_payload": {"day": day}}
    )
    outcome = post_daily_digest(client, store, real, now + timedelta(seconds=5))
    assert outcome == f"found the {day} digest already posted (ts {first['ts']}); recorded it"
    assert len(digest_posts(fake)) == 1
    assert store.digest_record(CHANNEL, day)["ts"] == first["ts"]
    assert post_daily_digest(client, store, real, now + timedelta(minutes=5)).startswith("already posted")
    assert len(digest_posts(fake)) == 1


def test_a_crash_before_posting_posts_on_restart(fake, client, store):
    now, day, real = today()
    assert store.claim_digest(CHANNEL, day)
    # The intent is older than a process would take to post, and nothing is in the channel: it died first.
    store.db.execute("UPDATE digests SET created = ?", [iso(now - timedelta(minutes=10))])
    outcome = post_daily_digest(client, store, real, now)
    assert outcome == f"posted the {day} digest to {CHANNEL}"
    assert len(digest_posts(fake)) == 1


def test_a_fresh_intent_of_another_process_is_left_alone(fake, client, store):
    now, day, real = today()
    assert store.claim_digest(CHANNEL, day)
    outcome = post_daily_digest(client, store, real, now)
    assert outcome == f"another process is posting the digest for {day}"
    assert digest_posts(fake) == []


def test_no_channel_no_post(fake, client, store):
    assert (
        post_daily_digest(client, store, settings(digest_channel=""), NOW) == "no DYNODOC_DIGEST_CHANNEL set"
    )
    assert fake.calls_to("chat.postMessage") == []


@pytest.mark.parametrize(
    "tz, now, due_utc",
    [
        ("UTC", datetime(2026, 11, 24, 8, 59, tzinfo=UTC), datetime(2026, 11, 23, 9, 0, tzinfo=UTC)),
        ("UTC", datetime(2026, 11, 24, 9, 0, tzinfo=UTC), datetime(2026, 11, 24, 9, 0, tzinfo=UTC)),
        # New York is UTC-5 in November and UTC-4 in July: 09:00 there is 14:00 or 13:00 UTC.
        (
            "America/New_York",
            datetime(2026, 11, 24, 15, 0, tzinfo=UTC),
            datetime(2026, 11, 24, 14, 0, tzinfo=UTC),
        ),
        (
            "America/New_York",
            datetime(2026, 7, 1, 13, 30, tzinfo=UTC),
            datetime(2026, 7, 1, 13, 0, tzinfo=UTC),
        ),
        # Tokyo's 09:00 on the 25th is still the 24th in UTC.
        ("Asia/Tokyo", datetime(2026, 11, 24, 23, 0, tzinfo=UTC), datetime(2026, 11, 24, 0, 0, tzinfo=UTC)),
    ],
)
def test_the_digest_time_is_in_the_configured_time_zone(tz, now, due_utc):
    s = settings(tz=tz)
    assert last_due(s, now) == due_utc
    following = digest_trigger(s).get_next_fire_time(None, now)
    assert following >= now
    assert following.astimezone(ZoneInfo(tz)).time() == clock(9, 0)
    assert following - due_utc <= timedelta(days=1, hours=1)


def test_the_day_key_is_the_local_date():
    # 07:00 in Tokyo is 22:00 UTC the evening before: the digest is the 25th's there.
    s = settings(tz="Asia/Tokyo", digest_time=clock(7, 0))
    assert last_due(s, datetime(2026, 11, 24, 22, 30, tzinfo=UTC)).date() == date(2026, 11, 25)


def test_a_digest_missed_while_down_runs_once_on_start(fake, client, store):
    now = datetime.now(UTC)
    s = settings(
        apps=(), digest_time=clock((now - timedelta(hours=1)).hour, 0)
    )  # due an hour ago, not posted
    scheduler = start_scheduler(client, s, store, now=now)
    try:
        fake.wait_for("chat.postMessage", channel=CHANNEL, timeout=10)
        assert scheduler.get_job("digest").max_instances == 1
        time.sleep(0.3)
        assert len(digest_posts(fake)) == 1
    finally:
        scheduler.shutdown(wait=True)
    # Started again the same day: already posted, so nothing is scheduled to catch up.
    scheduler = start_scheduler(client, s, store, now=now + timedelta(minutes=1))
    try:
        assert scheduler.get_job("digest-missed") is None
        assert scheduler.get_job("digest") is not None
    finally:
        scheduler.shutdown(wait=True)
    assert len(digest_posts(fake)) == 1


def test_polling_is_scheduled_without_overlap_only_with_credentials(client, store, caplog):
    scheduler = start_scheduler(client, settings(digest_channel=""), store)  # apps but no API keys
    try:
        assert scheduler.get_job("poll") is None
        assert [r.getMessage() for r in caplog.records if r.name == "bot.jobs"] == [
            "polling is off: DYNODOC_APPS names Heroku apps (acme-api) but HEROKU_API_KEY is not set"
        ]
    finally:
        scheduler.shutdown(wait=False)
    s = settings(
        digest_channel="",
        heroku_api_key="k" * 20,
        fly_api_token="t" * 20,
        heroku_api_url="http://127.0.0.1:9",
        fly_api_url="http://127.0.0.1:9",
    )
    scheduler = start_scheduler(client, s, store)
    try:
        job = scheduler.get_job("poll")
        assert job.max_instances == 1 and job.coalesce is True and job.misfire_grace_time == 3600
        assert scheduler.timezone == ZoneInfo("UTC") and job.trigger.timezone == ZoneInfo("UTC")
        assert job.args == (s, store) and job.func is run_poll
        assert job.trigger.interval == timedelta(minutes=5)
    finally:
        scheduler.shutdown(wait=False)


def test_tail_mode_in_serve_keeps_heroku_tailed_and_stops_with_the_scheduler(client, store):
    from fakes.heroku import FakeHeroku, history

    heroku = FakeHeroku(tail_seconds=0.3)
    heroku.add_app("acme-api", history(datetime.now(UTC) - timedelta(minutes=30)))
    s = settings(
        apps=(WatchedApp("heroku", "acme-api"),),
        digest_channel="",
        heroku_tail=True,
        heroku_api_key=heroku.api_key,
        heroku_api_url=heroku.url,
        retry_base=0.01,
    )
    scheduler = start_scheduler(client, s, store)
    try:
        assert scheduler.get_job("poll") is None  # the tail thread does the work
        [tail] = [t for t in threading.enumerate() if t.name == "dynodoc-tail"]
        assert tail.daemon  # it never keeps the process alive
        deadline = time.monotonic() + 10
        while (
            time.monotonic() < deadline and not store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        ):
            time.sleep(0.05)
        posts = heroku.requests_to("POST", "/apps/acme-api/")
        assert posts and all(p.body["tail"] is True for p in posts)
        assert store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0] > 0
    finally:
        scheduler.shutdown(wait=False)
    time.sleep(0.8)  # longer than a tail session: a live tail would have reopened one by now
    opened = len(heroku.requests_to("POST", "/apps/acme-api/"))
    time.sleep(0.8)
    assert len(heroku.requests_to("POST", "/apps/acme-api/")) == opened
    heroku.close()


def test_a_refused_post_says_why_and_leaves_the_day_open_for_a_retry(fake, client, store):
    now, day, real = today()
    fake.fail("chat.postMessage", body={"ok": False, "error": "not_in_channel"}, times=1)
    outcome = post_daily_digest(client, store, real, now)
    assert (
        outcome
        == f"could not post the {day} digest to {CHANNEL} (not_in_channel) — invite the bot to the channel"
    )
    assert store.digest_record(CHANNEL, day) is None
    # Once the bot is invited, the next run posts it: two attempts, one message in the channel.
    assert post_daily_digest(client, store, real, now).startswith("posted")
    assert len(digest_posts(fake)) == 2
    assert len([m for m, _ in fake.history[CHANNEL] if "thread_ts" not in m]) == 1


def test_a_lost_database_does_not_post_the_day_twice(fake, client, tmp_path):
    # A Heroku dyno's disk is wiped on restart: the second process starts with an empty database.
    now, day, real = today()
    first = Store(tmp_path / "before-restart.db")
    assert post_daily_digest(client, first, real, now).startswith("posted")
    first.close()
    fresh = Store(tmp_path / "after-restart.db")
    outcome = post_daily_digest(client, fresh, real, now + timedelta(minutes=30))
    assert outcome.startswith(f"found the {day} digest already posted")
    assert len(digest_posts(fake)) == 1
    assert fresh.digest_record(CHANNEL, day)["state"] == "posted"
    fresh.close()


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500, "body": {"ok": False, "error": "internal_error"}},
        {"status": 503, "body": "<html>upstream unavailable</html>"},
        {"status": 0, "body": ""},  # the connection dropped with no answer at all
    ],
    ids=["slack-500", "slack-503-html", "dropped-connection"],
)
def test_a_transient_fault_at_digest_time_is_retried_until_posted_once(fake, client, store, fault):
    from bot.jobs import run_digest

    # Two failed tries (slack_sdk itself retries a dropped connection once, so four drops are two tries).
    fake.fail("chat.postMessage", **fault, times=4 if fault["status"] == 0 else 2)
    waits: list[float] = []
    outcome = run_digest(client, settings(), store, delays=(1, 2, 4), sleep=waits.append)
    assert outcome is not None and outcome.startswith("posted"), outcome
    assert len(waits) == 2
    if fault["status"]:  # the two refused tries reached Slack too; only the third was accepted
        assert len(digest_posts(fake)) == 3
    day = last_due(settings(), datetime.now(UTC)).date().isoformat()
    assert store.digest_record(CHANNEL, day)["state"] == "posted"
    # And the day is never posted again.
    assert run_digest(client, settings(), store, delays=(), sleep=waits.append).startswith("already posted")


def test_a_refusal_is_not_retried(fake, client, store):
    from bot.jobs import run_digest

    fake.fail("chat.postMessage", body={"ok": False, "error": "not_in_channel"})
    waits: list[float] = []
    outcome = run_digest(client, settings(), store, delays=(1, 2), sleep=waits.append)
    assert "invite the bot" in outcome and waits == []


def test_a_digest_deep_in_the_channel_history_is_found_on_a_later_page(fake, client, tmp_path):
    # The digest was posted, the database was lost, and the channel got busy: 250 messages since then,
    # more than one page of history (200).
    now, day, real = today()
    first = client.chat_postMessage(
        channel=CHANNEL, text="digest", metadata={"event_type": DIGEST_EVENT, "event_payload": {"day": day}}
    )
    for i in range(250):
        fake.add_message(CHANNEL, fake.next_ts(), f"chatter {i}")
    fresh = Store(tmp_path / "after-restart.db")
    outcome = post_daily_digest(client, fresh, real, now)
    fresh.close()
    assert outcome == f"found the {day} digest already posted (ts {first['ts']}); recorded it"
    assert len(digest_posts(fake)) == 1
    pages = fake.calls_to("conversations.history", channel=CHANNEL)
    assert len(pages) == 2 and pages[1].params["cursor"] == "200"


def test_a_late_digest_takes_in_the_hour_under_way(fake, client, store):
    # Down at 09:00, back at 11:20: the events of 11:00-11:20 are in the digest.
    late = NOW + timedelta(hours=2, minutes=20)
    add_events(store, "acme-api", "R14", [late - timedelta(minutes=10)])
    assert post_daily_digest(client, store, settings(), late) == f"posted the 2026-11-24 digest to {CHANNEL}"
    [post] = digest_posts(fake)
    assert "R14" in str(post.params["blocks"])


def test_a_digest_on_time_covers_the_24_full_hours_before_it(fake, client, store):
    add_events(store, "acme-api", "R14", [NOW - timedelta(minutes=10)])  # 08:50: in
    add_events(store, "acme-api", "H12", [NOW - timedelta(hours=24, minutes=10)])  # 08:50 the day before: out
    assert post_daily_digest(client, store, settings(), NOW).startswith("posted")
    [post] = digest_posts(fake)
    assert "R14" in str(post.params["blocks"]) and "H12" not in str(post.params["blocks"])


def test_the_digest_fires_at_its_hour_and_minute_in_its_time_zone():
    paris = ZoneInfo("Europe/Paris")
    trigger = digest_trigger(settings(digest_time=clock(9, 30), tz="Europe/Paris"))
    fire = trigger.get_next_fire_time(None, datetime(2026, 11, 24, 0, 0, tzinfo=paris))
    assert fire == datetime(2026, 11, 24, 9, 30, tzinfo=paris)


def test_tail_mode_leaves_only_the_fly_apps_to_polling_sessions():
    apps = (
        WatchedApp("heroku", "acme-api"),
        WatchedApp("fly", "acme-edge"),
        WatchedApp("heroku", "acme-worker"),
    )
    assert polled_apps(settings(apps=apps)) == apps
    assert polled_apps(settings(apps=apps, heroku_tail=True)) == (WatchedApp("fly", "acme-edge"),)


def test_a_scheduled_poll_polls_every_app_and_logs_each_failure(store, caplog):
    from fakes.heroku import FakeHeroku, history

    heroku = FakeHeroku()
    heroku.add_app("acme-api", history(datetime.now(UTC) - timedelta(minutes=30)))
    s = settings(
        apps=(WatchedApp("heroku", "acme-api"), WatchedApp("heroku", "gone-app")),
        heroku_api_key=heroku.api_key,
        heroku_api_url=heroku.url,
        retry_base=0.01,
    )
    try:
        with caplog.at_level(logging.WARNING, logger="bot.jobs"):
            run_poll(s, store)
    finally:
        heroku.close()
    assert store.db.execute("SELECT COUNT(*) FROM events WHERE app = 'acme-api'").fetchone()[0] > 0
    [warning] = [r.getMessage() for r in caplog.records if r.name == "bot.jobs"]
    assert warning.startswith("poll heroku:gone-app: no Heroku app named gone-app")


def test_a_poll_that_fails_outright_never_takes_the_bot_down(tmp_path, caplog):
    broken = Store(tmp_path / "d.db")
    broken.close()
    s = settings(
        apps=(WatchedApp("fly", "acme-edge"),), fly_api_token="t" * 20, fly_api_url="http://127.0.0.1:9"
    )
    with caplog.at_level(logging.ERROR, logger="bot.jobs"):
        run_poll(s, broken)  # no exception escapes
    assert [r.getMessage() for r in caplog.records if r.name == "bot.jobs"] == ["poll failed"]


def test_with_no_apps_to_poll_nothing_is_polled(store, caplog):
    s = settings(apps=(WatchedApp("heroku", "acme-api"),), heroku_tail=True)
    with caplog.at_level(logging.INFO, logger="bot.jobs"):
        run_poll(s, store)
    assert caplog.records == [] and store.poll_runs("acme-api") == []


def test_a_channel_history_that_cannot_be_read_is_said_and_the_digest_posted(fake, client, store, caplog):
    now, day, real = today()
    fake.fail("conversations.history", body={"ok": False, "error": "missing_scope"})
    with caplog.at_level(logging.WARNING, logger="bot.jobs"):
        assert post_daily_digest(client, store, real, now) == f"posted the {day} digest to {CHANNEL}"
    assert [r.getMessage() for r in caplog.records if r.name == "bot.jobs"] == [
        f"could not read {CHANNEL} history to check for the {day} digest (missing_scope); posting it"
    ]


def test_yesterdays_digest_in_the_channel_is_not_todays(fake, client, store):
    now, day, real = today()
    yesterday = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    client.chat_postMessage(
        channel=CHANNEL,
        text="digest",
        metadata={"event_type": DIGEST_EVENT, "event_payload": {"day": yesterday}},
    )
    client.chat_postMessage(
        channel=CHANNEL,
        text="other",
        metadata={"event_type": "something_else", "event_payload": {"day": day}},
    )
    assert post_daily_digest(client, store, real, now) == f"posted the {day} digest to {CHANNEL}"
    assert len(digest_posts(fake)) == 3


def test_the_digest_job_polls_first_then_posts_and_logs_what_happened(fake, client, store, caplog):
    from fakes.heroku import FakeHeroku, history

    from bot.jobs import run_digest

    heroku = FakeHeroku()
    heroku.add_app("acme-api", history(datetime.now(UTC) - timedelta(minutes=30)))
    s = settings(
        apps=(WatchedApp("heroku", "acme-api"),),
        heroku_api_key=heroku.api_key,
        heroku_api_url=heroku.url,
        retry_base=0.01,
    )
    try:
        with caplog.at_level(logging.INFO, logger="bot.jobs"):
            outcome = run_digest(client, s, store, poll_first=True)
    finally:
        heroku.close()
    day = last_due(s, datetime.now(UTC)).date().isoformat()
    assert outcome == f"posted the {day} digest to {CHANNEL}"
    assert store.poll_runs("acme-api")  # it polled before posting
    [post] = digest_posts(fake)
    assert "acme-api" in str(post.params["blocks"]) and "H12" in str(post.params["blocks"])
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "bot.jobs"] == [
        ("INFO", f"digest: {outcome}")
    ]


def test_the_digest_job_logs_each_retry_and_a_final_failure_as_warnings(fake, client, store, caplog):
    from bot.jobs import run_digest

    fake.fail("chat.postMessage", status=503, body={"ok": False, "error": "service_unavailable"})
    with caplog.at_level(logging.INFO, logger="bot.jobs"):
        outcome = run_digest(client, settings(), store, delays=(7,), sleep=lambda s: None)
    assert outcome.startswith("could not post") and outcome.endswith("; will try again")
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "bot.jobs"] == [
        ("WARNING", f"digest: {outcome} (in 7s)"),
        ("WARNING", f"digest: {outcome}"),
    ]


def test_a_digest_job_that_breaks_is_logged_and_the_bot_goes_on(client, tmp_path, caplog):
    from bot.jobs import run_digest

    broken = Store(tmp_path / "d.db")
    broken.close()
    with caplog.at_level(logging.ERROR, logger="bot.jobs"):
        assert run_digest(client, settings(), broken, delays=()) is None
    assert [r.getMessage() for r in caplog.records if r.name == "bot.jobs"] == ["digest failed"]


def test_the_digest_time_keeps_its_minute():
    s = settings(digest_time=clock(9, 30))
    assert last_due(s, datetime(2026, 11, 24, 9, 15, tzinfo=UTC)) == datetime(
        2026, 11, 23, 9, 30, tzinfo=ZoneInfo("UTC")
    )
    assert last_due(s, datetime(2026, 11, 24, 9, 45, tzinfo=UTC)) == datetime(
        2026, 11, 24, 9, 30, tzinfo=ZoneInfo("UTC")
    )


def test_the_digest_of_one_app_and_of_each_apps_platform(store):
    end = datetime(2026, 11, 24, 9, tzinfo=UTC)
    add_events(store, "acme-api", "H12", [end - timedelta(hours=1)])
    add_events(store, "acme-edge", "PC01", [end - timedelta(hours=2), end - timedelta(hours=3)])
    one = build_stored_digest(store, settings(), end, app="acme-edge")
    assert [(a.app, a.platform, a.errors) for a in one.apps] == [("acme-edge", "fly", 2)]
    both = build_stored_digest(store, settings(poll_minutes=60), end)
    assert {a.app: a.platform for a in both.apps} == {"acme-api": "heroku", "acme-edge": "fly"}


@pytest.mark.parametrize(
    "fault, why",
    [
        (
            {"body": {"ok": False, "error": "channel_not_found"}},
            "(channel_not_found) — invite the bot to the channel",
        ),
        ({"body": {"ok": False, "error": "invalid_blocks"}}, "(invalid_blocks)"),
        ({"body": {"ok": False, "error": "ratelimited"}}, "(ratelimited); will try again"),
        (
            {"status": 500, "body": {"ok": False, "error": "internal_error"}},
            "(internal_error); will try again",
        ),
    ],
)
def test_a_post_slack_refuses_says_why_and_whether_it_will_be_tried_again(fake, client, store, fault, why):
    now, day, real = today()
    fake.fail("chat.postMessage", **fault)
    assert (
        post_daily_digest(client, store, real, now) == f"could not post the {day} digest to {CHANNEL} {why}"
    )
    assert store.digest_record(CHANNEL, day) is None


def test_a_post_that_never_reaches_slack_names_the_error(fake, client, store):
    now, day, real = today()
    fake.fail("chat.postMessage", status=0, body="", times=2)  # slack_sdk retries a dropped connection once
    outcome = post_daily_digest(client, store, real, now)
    assert outcome.startswith(f"could not reach Slack to post the {day} digest (") and outcome.endswith(
        "); will try again"
    )
    assert "NoneType" not in outcome and store.digest_record(CHANNEL, day) is None


def test_a_posted_digest_has_its_title_and_is_recorded_with_its_ts(fake, client, store):
    add_events(store, "acme-api", "H12", [NOW - timedelta(hours=1)])
    assert post_daily_digest(client, store, settings(), NOW).startswith("posted")
    [post] = digest_posts(fake)
    assert "Dyno Doctor digest · 2026-11-24" in post.params["text"] + str(post.params.get("blocks"))
    record = store.digest_record(CHANNEL, "2026-11-24")
    assert record["ts"] == [m for m, _ in fake.history[CHANNEL] if "thread_ts" not in m][0]["ts"]


def test_a_run_just_after_the_hour_is_on_time_and_one_past_five_minutes_is_late(fake, client, store):
    on_time = NOW.replace(minute=4, second=59)
    late = NOW.replace(minute=5, second=30)
    add_events(store, "acme-api", "R14", [NOW.replace(minute=2)])  # in the hour under way
    add_events(store, "acme-api", "H13", [NOW - timedelta(hours=23, minutes=30)])  # 09:30 the day before

    def said(since: int) -> str:
        return str([c.params for c in fake.calls_to("chat.postMessage", channel=CHANNEL)[since:]])

    assert post_daily_digest(client, store, settings(), on_time).startswith("posted")
    first = said(0)
    assert "R14" not in first and "H13" in first
    store.db.execute("DELETE FROM digests")
    fake.history.clear()
    before = len(fake.calls_to("chat.postMessage", channel=CHANNEL))
    assert post_daily_digest(client, store, settings(), late).startswith("posted")
    second = said(before)
    # The 24 hours now end at 10:00: 09:30 the day before is out.
    assert "R14" in second and "H13" not in second
