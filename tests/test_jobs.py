"""The schedule: digests from stored events, posted exactly once per channel and day, on time, in a time zone.

The bot's real WebClient talks to the fake Slack on 127.0.0.1; a crash is simulated by doing what the
first process did before it died (record the intent, post the message) and then starting over. The
whole bot and the fake Slack share one `ShiftedClock`: "it is 09:00:30 UTC on 24 November", whatever
the wall clock says, so the schedule is tested at its edges through the real APScheduler.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from fakes.clock import ShiftedClock
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
from bot.store import LineRecord, PollRun, Store, is_postgres_url, iso

CHANNEL = "C0DIGEST"
NOW = datetime(2026, 11, 24, 9, 0, 30, tzinfo=UTC)  # just after the 09:00 UTC digest time


@pytest.fixture
def now():
    """The bot's clock (and the fake Slack's): NOW, running on from there."""
    return ShiftedClock(NOW)


@pytest.fixture
def fake(now):
    slack = FakeSlack(clock=now)
    yield slack
    slack.close()


@pytest.fixture
def client(fake):
    return WebClient(token=BOT_TOKEN, base_url=fake.api_url)


@pytest.fixture
def store(database, now):
    s = Store(database, clock=now)  # once per engine (conftest's `database`), on the test's clock
    yield s
    s.close()


class Decisions(logging.Handler):
    """What the scheduled jobs decided, as they log it ("digest: posted the 2026-11-24 digest to ..."), to
    wait on: a job that has said what it did has done all it will."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[str] = []
        self._cond = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self._cond:
            self.messages.append(record.getMessage())
            self._cond.notify_all()

    def wait_for(self, prefix: str, count: int = 1, timeout: float = 10.0) -> list[str]:
        def found() -> list[str]:
            return [m for m in self.messages if m.startswith(prefix)]

        with self._cond:
            if not self._cond.wait_for(lambda: len(found()) >= count, timeout):
                raise AssertionError(f"expected {count} decision(s) starting {prefix!r}; got {self.messages}")
            return found()


@pytest.fixture
def decisions():
    logger = logging.getLogger("bot.jobs")
    handler, level = Decisions(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def settings(**changes) -> Settings:
    base = dict(
        apps=(WatchedApp("heroku", "acme-api"), WatchedApp("fly", "acme-edge")),
        digest_channel=CHANNEL,
        digest_time=clock(9, 0),
        tz="UTC",
        poll_minutes=5,
    )
    return Settings(**{**base, **changes})


def polling_nowhere(**changes) -> Settings:
    """Settings with both platforms' credentials and APIs that refuse at once: the jobs are scheduled, and
    a poll fails fast."""
    return settings(
        heroku_api_key="k" * 20,
        fly_api_token="t" * 20,
        heroku_api_url="http://127.0.0.1:9",
        fly_api_url="http://127.0.0.1:9",
        retry_base=0.01,
        **changes,
    )


def against(heroku, **changes) -> Settings:
    """Settings that poll the fake Heroku `heroku` (acme-api only unless `apps` says otherwise)."""
    return settings(
        **{
            "apps": (WatchedApp("heroku", "acme-api"),),
            "heroku_api_key": heroku.api_key,
            "heroku_api_url": heroku.url,
            "retry_base": 0.01,
            **changes,
        }
    )


def add_events(store: Store, app: str, code: str, times: list[datetime], path: str = "/orders/7") -> None:
    """Events stored the way polling stores them (each time once: a poll sees a line once)."""
    store.save_lines(
        app,
        "heroku",
        [
            LineRecord(f"{app}{code}{t}{i}", t, "x", code=code, kind="router", dyno="web.1", path=path)
            for i, t in enumerate(times)
        ],
    )


def digest_posts(fake: FakeSlack) -> list:
    return [c for c in fake.calls_to("chat.postMessage", channel=CHANNEL) if "thread_ts" not in c.params]


def test_digest_from_stored_events_with_known_counts(store):
    end = datetime(2026, 11, 24, 9, tzinfo=UTC)
    store.execute(
        "INSERT INTO rollups (app, hour, requests, errors, status_5xx, service_hist) VALUES (?, ?, ?, ?, ?, ?)",
        ["acme-api", iso(end - timedelta(hours=1)), 400, 5, 5, '{"5": 370, "21": 30}'],
    )
    add_events(store, "acme-api", "H12", [end - timedelta(hours=h) for h in (1, 2, 3, 5)])  # last 24 h: 4
    add_events(store, "acme-api", "H12", [end - timedelta(hours=30)])  # the day before: 1
    add_events(store, "acme-api", "R14", [end - timedelta(days=20)])  # long ago only
    add_events(store, "acme-api", "H10", [end - timedelta(hours=2)])  # first time ever: new
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


def test_posted_exactly_once_across_a_restart(fake, client, store, now):
    add_events(store, "acme-api", "H12", [NOW - timedelta(hours=1)] * 1)
    assert post_daily_digest(client, store, settings()) == f"posted the 2026-11-24 digest to {CHANNEL}"
    # A restart later that day: the record says it is posted.
    now.set(NOW + timedelta(hours=3))
    assert post_daily_digest(client, store, settings()).startswith("already posted")
    posts = digest_posts(fake)
    assert len(posts) == 1
    assert posts[0].params["metadata"] == {"event_type": DIGEST_EVENT, "event_payload": {"day": "2026-11-24"}}
    assert store.digest_record(CHANNEL, "2026-11-24")["state"] == "posted"
    # Per-code details go into the digest's thread.
    thread = fake.calls_to(
        "chat.postMessage", channel=CHANNEL, thread_ts=store.digest_record(CHANNEL, "2026-11-24")["ts"]
    )
    assert thread and "H12" in str(thread[0].params["blocks"])


DAY = "2026-11-24"  # the digest due most recently at NOW


def test_a_crash_between_posting_and_recording_does_not_post_twice(fake, client, store, now):
    # The first process recorded its intent and posted, then died before marking it posted.
    assert store.claim_digest(CHANNEL, DAY)
    first = client.chat_postMessage(
        channel=CHANNEL, text="digest", metadata={"event_type": DIGEST_EVENT, "event_payload": {"day": DAY}}
    )
    now.set(NOW + timedelta(seconds=5))
    outcome = post_daily_digest(client, store, settings())
    assert outcome == f"found the {DAY} digest already posted (ts {first['ts']}); recorded it"
    assert len(digest_posts(fake)) == 1
    assert store.digest_record(CHANNEL, DAY)["ts"] == first["ts"]
    now.set(NOW + timedelta(minutes=5))
    assert post_daily_digest(client, store, settings()).startswith("already posted")
    assert len(digest_posts(fake)) == 1


def test_a_crash_before_posting_posts_on_restart(fake, client, store):
    assert store.claim_digest(CHANNEL, DAY)
    # The intent is older than a process would take to post, and nothing is in the channel: it died first.
    store.execute("UPDATE digests SET created = ?", [iso(NOW - timedelta(minutes=10))])
    outcome = post_daily_digest(client, store, settings())
    assert outcome == f"posted the {DAY} digest to {CHANNEL}"
    assert len(digest_posts(fake)) == 1


def test_a_fresh_intent_of_another_process_is_left_alone(fake, client, store):
    assert store.claim_digest(CHANNEL, DAY)
    outcome = post_daily_digest(client, store, settings())
    assert outcome == f"another process is posting the digest for {DAY}"
    assert digest_posts(fake) == []


def test_no_channel_no_post(fake, client, store):
    assert post_daily_digest(client, store, settings(digest_channel="")) == "no DYNODOC_DIGEST_CHANNEL set"
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


def posted_before(store: Store, day: str) -> None:
    """The digest of `day` went out before this start (so only the next one is due)."""
    assert store.claim_digest(CHANNEL, day)
    store.mark_digest_posted(CHANNEL, day, "1.000001")


def next_digest(scheduler, now: ShiftedClock) -> datetime:
    """When the scheduler will next run the daily digest, on the bot's clock (to the second)."""
    on_clock = scheduler.get_job("digest").next_run_time.astimezone(UTC) + now.skew
    return (on_clock + timedelta(milliseconds=500)).replace(microsecond=0)


@pytest.mark.parametrize(
    "tz, due, start, day, then",
    [
        # Just before the digest time: nothing until 09:00, then the day's digest, then tomorrow's.
        (
            "UTC",
            clock(9, 0),
            datetime(2026, 11, 24, 8, 59, 59, 400000, tzinfo=UTC),
            "2026-11-24",
            "2026-11-25 09:00",
        ),
        # Across midnight: 07:00 in Tokyo is 22:00 UTC the evening before, and the digest is the 25th's.
        (
            "Asia/Tokyo",
            clock(7, 0),
            datetime(2026, 11, 24, 21, 59, 59, 400000, tzinfo=UTC),
            "2026-11-25",
            "2026-11-25 22:00",
        ),
        # 00:15 in New York is 05:15 UTC: the local day has just begun.
        (
            "America/New_York",
            clock(0, 15),
            datetime(2026, 11, 24, 5, 14, 59, 400000, tzinfo=UTC),
            "2026-11-24",
            "2026-11-25 05:15",
        ),
        # The eve of the switch to summer time in New York (8 March 2026): 09:00 EST is 14:00 UTC, and
        # the next day's 09:00 EDT is 13:00 UTC, 23 hours later.
        (
            "America/New_York",
            clock(9, 0),
            datetime(2026, 3, 7, 13, 59, 59, 400000, tzinfo=UTC),
            "2026-03-07",
            "2026-03-08 13:00",
        ),
        # And back to winter time (1 November 2026): 09:00 EDT is 13:00 UTC, the next 09:00 EST 25 h later.
        (
            "America/New_York",
            clock(9, 0),
            datetime(2026, 10, 31, 12, 59, 59, 400000, tzinfo=UTC),
            "2026-10-31",
            "2026-11-01 14:00",
        ),
    ],
    ids=["just-before", "tokyo-across-midnight", "new-york-just-after-midnight", "dst-spring", "dst-autumn"],
)
def test_the_scheduler_posts_the_digest_when_it_is_due_and_not_before(
    fake, client, store, now, decisions, tz, due, start, day, then
):
    s = settings(apps=(), tz=tz, digest_time=due)
    now.set(start)
    yesterday = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    posted_before(store, yesterday)
    scheduler = start_scheduler(client, s, store)
    try:
        assert scheduler.get_job("digest-missed") is None  # yesterday's went out: nothing to catch up
        due_utc = datetime.combine(date.fromisoformat(day), due, ZoneInfo(tz)).astimezone(UTC)
        assert next_digest(scheduler, now) == due_utc  # under a second from `start`
        assert decisions.wait_for("digest: ") == [f"digest: posted the {day} digest to {CHANNEL}"]
        [post] = digest_posts(fake)
        assert post.params["metadata"]["event_payload"] == {"day": day}
        # The post itself says when it happened: at the due time, not a moment before.
        [(message, _)] = [m for m in fake.history[CHANNEL] if "thread_ts" not in m[0]]
        assert datetime.fromtimestamp(float(message["ts"]), UTC) >= due_utc
        assert next_digest(scheduler, now) == datetime.fromisoformat(then + "+00:00")
    finally:
        scheduler.shutdown(wait=True)
    assert len(digest_posts(fake)) == 1


@pytest.mark.parametrize(
    "start",
    [
        datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC),  # at the digest time
        datetime(2026, 11, 24, 9, 0, 1, tzinfo=UTC),  # just after it
        datetime(2026, 11, 24, 13, 30, tzinfo=UTC),  # a late start: the bot was down at 09:00
        datetime(2026, 11, 25, 8, 58, 30, tzinfo=UTC),  # down all day: still the 24th's, the 25th's not due
    ],
    ids=["at", "just-after", "late-start", "a-day-late"],
)
def test_a_start_at_or_after_the_digest_time_posts_the_missed_digest_once(
    fake, client, store, now, decisions, start
):
    now.set(start)
    posted_before(store, "2026-11-23")
    s = settings(apps=())
    scheduler = start_scheduler(client, s, store)
    try:
        assert decisions.wait_for("digest: ") == [f"digest: posted the 2026-11-24 digest to {CHANNEL}"]
        assert scheduler.get_job("digest-missed") is None  # it ran once and is gone
        assert next_digest(scheduler, now) == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    finally:
        scheduler.shutdown(wait=True)
    # Started again the same day: already posted, so nothing is scheduled to catch up.
    now.set(start + timedelta(minutes=1))
    scheduler = start_scheduler(client, s, store)
    try:
        assert scheduler.get_job("digest-missed") is None
        assert next_digest(scheduler, now) == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    finally:
        scheduler.shutdown(wait=True)
    assert len(digest_posts(fake)) == 1
    assert decisions.messages == [f"digest: posted the 2026-11-24 digest to {CHANNEL}"]


def test_polling_is_scheduled_without_overlap_only_with_credentials(client, store, caplog):
    scheduler = start_scheduler(client, settings(digest_channel=""), store)  # apps but no API keys
    try:
        assert scheduler.get_job("poll") is None
        assert [r.getMessage() for r in caplog.records if r.name == "bot.jobs"] == [
            "polling is off: DYNODOC_APPS names Heroku apps (acme-api) but HEROKU_API_KEY is not set"
        ]
    finally:
        scheduler.shutdown(wait=False)
    s = polling_nowhere(digest_channel="")
    heard: list = []
    scheduler = start_scheduler(client, s, store, on_result=heard.append)
    wall = datetime.now(UTC)  # the bot's clock says NOW; APScheduler waits on this one
    try:
        job = scheduler.get_job("poll")
        assert job.max_instances == 1 and job.coalesce is True and job.misfire_grace_time == 3600
        assert job.kwargs == {"on_result": heard.append}  # poll results reach the alerts
        # The first poll runs at once (its results heard), then every 5 minutes counted on the bot's clock.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(heard) < 2:
            time.sleep(0.02)
        assert heard and {r.app.name for r in heard} == {"acme-api", "acme-edge"}
        job = scheduler.get_job("poll")
        assert abs(job.next_run_time - (wall + timedelta(minutes=5))) < timedelta(seconds=2)
        later = job.next_run_time + timedelta(minutes=5)
        assert job.trigger.get_next_fire_time(job.next_run_time, job.next_run_time) == later
        first = job.trigger.get_next_fire_time(None, datetime.now(UTC))
        assert abs(first - (wall + timedelta(minutes=5))) < timedelta(seconds=2)
        assert scheduler.timezone == ZoneInfo("UTC") and job.trigger.trigger.timezone == ZoneInfo("UTC")
        assert job.args == (s, store) and job.func.__wrapped__ is run_poll  # under the job's lock
        assert job.trigger.trigger.interval == timedelta(minutes=5)
    finally:
        scheduler.shutdown(wait=True)  # the first poll (refused at once) ends before the store closes


def tailed_heroku():
    """A fake Heroku whose tail sessions end quickly, and settings that tail its one app."""
    from fakes.heroku import FakeHeroku, history

    heroku = FakeHeroku(tail_seconds=0.3)
    heroku.add_app("acme-api", history(datetime.now(UTC) - timedelta(minutes=30)))
    return heroku, against(
        heroku,
        digest_channel="",
        heroku_tail=True,
    )


def test_tail_mode_in_serve_keeps_heroku_tailed_and_stops_with_the_scheduler(client, store):
    heroku, s = tailed_heroku()
    heard: list = []
    scheduler = start_scheduler(client, s, store, on_result=heard.append)
    try:
        assert scheduler.get_job("poll") is None  # the tail thread does the work
        [tail] = [t for t in threading.enumerate() if t.name == "dynodoc-tail"]
        assert tail.daemon  # it never keeps the process alive
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not store.query("SELECT COUNT(*) FROM events")[0][0]:
            time.sleep(0.05)
        posts = heroku.requests_to("POST", "/apps/acme-api/")
        assert posts and all(p.body["tail"] is True for p in posts)
        assert store.query("SELECT COUNT(*) FROM events")[0][0] > 0
        assert tail.is_alive()  # only the scheduler's shutdown stops it, not its other events
    finally:
        scheduler.shutdown(wait=False)
    # Stopped with the scheduler: the threads that open tail sessions end (the open session runs out
    # within tail_seconds), so no session can be opened after this.
    tails = [t for t in threading.enumerate() if t.name in ("dynodoc-tail", "tail-acme-api")]
    assert tails
    for thread in tails:
        thread.join(10)
        assert not thread.is_alive(), thread.name
    assert store.poll_runs("acme-api")[0].note == "tail mode"  # its last report, made on the way out
    assert heard and heard[-1].app.name == "acme-api"  # and the alerts heard it
    heroku.close()


def test_tail_mode_tails_only_on_the_instance_holding_the_poll_lock(client, store, database):
    heroku, s = tailed_heroku()
    other = Store(database)  # another instance, polling already
    with other.exclusive("poll"):
        scheduler = start_scheduler(client, s, store)
        try:
            if is_postgres_url(database):
                time.sleep(1.0)  # time to open a session, were it allowed to
                assert heroku.requests_to("POST", "/apps/acme-api/") == []
            else:  # one scheduler per SQLite file: the lock is always this instance's
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not heroku.requests_to("POST", "/apps/acme-api/"):
                    time.sleep(0.05)
                assert heroku.requests_to("POST", "/apps/acme-api/")
        finally:
            scheduler.shutdown(wait=False)
    for thread in [t for t in threading.enumerate() if t.name in ("dynodoc-tail", "tail-acme-api")]:
        thread.join(10)
        assert not thread.is_alive(), thread.name  # the waiting instance stops with its scheduler too
    other.close()
    heroku.close()


def test_a_refused_post_says_why_and_leaves_the_day_open_for_a_retry(fake, client, store):
    fake.fail("chat.postMessage", body={"ok": False, "error": "not_in_channel"}, times=1)
    outcome = post_daily_digest(client, store, settings())
    assert (
        outcome
        == f"could not post the {DAY} digest to {CHANNEL} (not_in_channel) — invite the bot to the channel"
    )
    assert store.digest_record(CHANNEL, DAY) is None
    # Once the bot is invited, the next run posts it: two attempts, one message in the channel.
    assert post_daily_digest(client, store, settings()).startswith("posted")
    assert len(digest_posts(fake)) == 2
    assert len([m for m, _ in fake.history[CHANNEL] if "thread_ts" not in m]) == 1


def test_a_lost_database_does_not_post_the_day_twice(fake, client, tmp_path, now):
    # A Heroku dyno's disk is wiped on restart: the second process starts with an empty database.
    first = Store(tmp_path / "before-restart.db", clock=now)
    assert post_daily_digest(client, first, settings()).startswith("posted")
    first.close()
    now.set(NOW + timedelta(minutes=30))
    fresh = Store(tmp_path / "after-restart.db", clock=now)
    outcome = post_daily_digest(client, fresh, settings())
    assert outcome.startswith(f"found the {DAY} digest already posted")
    assert len(digest_posts(fake)) == 1
    assert fresh.digest_record(CHANNEL, DAY)["state"] == "posted"
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
    assert waits == [1, 2]  # the first two delays, in order
    if fault["status"]:  # the two refused tries reached Slack too; only the third was accepted
        assert len(digest_posts(fake)) == 3
    assert store.digest_record(CHANNEL, DAY)["state"] == "posted"
    # And the day is never posted again.
    assert run_digest(client, settings(), store, delays=(), sleep=waits.append).startswith("already posted")


def test_a_refusal_is_not_retried(fake, client, store):
    from bot.jobs import run_digest

    fake.fail("chat.postMessage", body={"ok": False, "error": "not_in_channel"})
    waits: list[float] = []
    outcome = run_digest(client, settings(), store, delays=(1, 2), sleep=waits.append)
    assert "invite the bot" in outcome and waits == []


def test_a_digest_deep_in_the_channel_history_is_found_on_a_later_page(fake, client, tmp_path, now):
    # The digest was posted, the database was lost, and the channel got busy: 250 messages since then,
    # more than one page of history (200).
    day, real = DAY, settings()
    first = client.chat_postMessage(
        channel=CHANNEL, text="digest", metadata={"event_type": DIGEST_EVENT, "event_payload": {"day": day}}
    )
    for i in range(250):
        fake.add_message(CHANNEL, fake.next_ts(), f"chatter {i}")
    fresh = Store(tmp_path / "after-restart.db", clock=now)
    outcome = post_daily_digest(client, fresh, real)
    fresh.close()
    assert outcome == f"found the {day} digest already posted (ts {first['ts']}); recorded it"
    assert len(digest_posts(fake)) == 1
    pages = fake.calls_to("conversations.history", channel=CHANNEL)
    assert len(pages) == 2 and pages[1].params["cursor"] == "200"


def test_a_late_digest_takes_in_the_hour_under_way(fake, client, store, now):
    # Down at 09:00, back at 11:20: the events of 11:00-11:20 are in the digest.
    late = NOW + timedelta(hours=2, minutes=20)
    add_events(store, "acme-api", "R14", [late - timedelta(minutes=10)])
    now.set(late)
    assert post_daily_digest(client, store, settings()) == f"posted the 2026-11-24 digest to {CHANNEL}"
    [post] = digest_posts(fake)
    assert "R14" in str(post.params["blocks"])


def test_a_digest_on_time_covers_the_24_full_hours_before_it(fake, client, store):
    add_events(store, "acme-api", "R14", [NOW - timedelta(minutes=10)])  # 08:50: in
    add_events(store, "acme-api", "H12", [NOW - timedelta(hours=24, minutes=10)])  # 08:50 the day before: out
    assert post_daily_digest(client, store, settings()).startswith("posted")
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
    s = against(
        heroku,
        apps=(WatchedApp("heroku", "acme-api"), WatchedApp("heroku", "gone-app")),
    )
    try:
        with caplog.at_level(logging.WARNING, logger="bot.jobs"):
            run_poll(s, store)
    finally:
        heroku.close()
    assert store.query("SELECT COUNT(*) FROM events WHERE app = 'acme-api'")[0][0] > 0
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
    day, real = DAY, settings()
    fake.fail("conversations.history", body={"ok": False, "error": "missing_scope"})
    with caplog.at_level(logging.WARNING, logger="bot.jobs"):
        assert post_daily_digest(client, store, real) == f"posted the {day} digest to {CHANNEL}"
    assert [r.getMessage() for r in caplog.records if r.name == "bot.jobs"] == [
        f"could not read {CHANNEL} history to check for the {day} digest (missing_scope); posting it"
    ]


def test_yesterdays_digest_in_the_channel_is_not_todays(fake, client, store):
    day, real = DAY, settings()
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
    assert post_daily_digest(client, store, real) == f"posted the {day} digest to {CHANNEL}"
    assert len(digest_posts(fake)) == 3


def test_the_digest_job_polls_first_then_posts_and_logs_what_happened(fake, client, store, caplog):
    from fakes.heroku import FakeHeroku, history

    from bot.jobs import run_digest

    heroku = FakeHeroku()
    heroku.add_app("acme-api", history(NOW - timedelta(hours=2)))  # all of it inside the 24 h to 09:00
    s = against(heroku)
    try:
        with caplog.at_level(logging.INFO, logger="bot.jobs"):
            outcome = run_digest(client, s, store, poll_first=True)
    finally:
        heroku.close()
    assert outcome == f"posted the {DAY} digest to {CHANNEL}"
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
    day, real = DAY, settings()
    fake.fail("chat.postMessage", **fault)
    assert post_daily_digest(client, store, real) == f"could not post the {day} digest to {CHANNEL} {why}"
    assert store.digest_record(CHANNEL, day) is None


def test_a_post_that_never_reaches_slack_names_the_error(fake, client, store):
    day, real = DAY, settings()
    fake.fail("chat.postMessage", status=0, body="", times=2)  # slack_sdk retries a dropped connection once
    outcome = post_daily_digest(client, store, real)
    assert outcome.startswith(f"could not reach Slack to post the {day} digest (") and outcome.endswith(
        "); will try again"
    )
    assert "NoneType" not in outcome and store.digest_record(CHANNEL, day) is None


def test_a_posted_digest_has_its_title_and_is_recorded_with_its_ts(fake, client, store):
    add_events(store, "acme-api", "H12", [NOW - timedelta(hours=1)])
    assert post_daily_digest(client, store, settings()).startswith("posted")
    [post] = digest_posts(fake)
    assert "Dyno Doctor digest · 2026-11-24" in post.params["text"] + str(post.params.get("blocks"))
    record = store.digest_record(CHANNEL, "2026-11-24")
    assert record["ts"] == [m for m, _ in fake.history[CHANNEL] if "thread_ts" not in m][0]["ts"]


def test_a_run_just_after_the_hour_is_on_time_and_one_past_five_minutes_is_late(fake, client, store, now):
    on_time = NOW.replace(minute=4, second=59)
    late = NOW.replace(minute=5, second=30)
    add_events(store, "acme-api", "R14", [NOW.replace(minute=2)])  # in the hour under way
    add_events(store, "acme-api", "H13", [NOW - timedelta(hours=23, minutes=30)])  # 09:30 the day before

    def said(since: int) -> str:
        return str([c.params for c in fake.calls_to("chat.postMessage", channel=CHANNEL)[since:]])

    now.set(on_time)
    assert post_daily_digest(client, store, settings()).startswith("posted")
    first = said(0)
    assert "R14" not in first and "H13" in first
    store.execute("DELETE FROM digests")
    fake.history.clear()
    before = len(fake.calls_to("chat.postMessage", channel=CHANNEL))
    now.set(late)
    assert post_daily_digest(client, store, settings()).startswith("posted")
    second = said(before)
    # The 24 hours now end at 10:00: 09:30 the day before is out.
    assert "R14" in second and "H13" not in second


def test_on_the_wall_clock_polling_starts_at_once_and_the_digest_is_due_at_its_time(client, database):
    # The bot in production: its clock is the system's, so the schedule is not shifted at all.
    store = Store(database)
    s = polling_nowhere(digest_time=clock(9, 0))
    heard: list = []
    scheduler = start_scheduler(client, s, store, on_result=heard.append)
    try:
        job = scheduler.get_job("digest")
        expected = digest_trigger(s).get_next_fire_time(None, datetime.now(ZoneInfo("UTC")))
        assert job.next_run_time == expected
        assert job.kwargs == {"on_result": heard.append}  # the poll it starts with feeds the alerts too
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(heard) < 2:
            time.sleep(0.02)
        assert {r.app.name for r in heard} == {"acme-api", "acme-edge"}  # the first poll ran at once
    finally:
        scheduler.shutdown(wait=True)  # today's digest may be running (it was due): let it end first
        store.close()


@pytest.mark.parametrize("name", ["poll", "digest"])
def test_each_scheduled_job_runs_under_its_own_lock(client, store, database, caplog, name):
    s = polling_nowhere()
    scheduler = start_scheduler(client, s, store)
    scheduler.pause()  # the test runs the job itself
    job = scheduler.get_job(name)
    other = Store(database)  # another instance, holding the job's lock
    try:
        with other.exclusive(name), caplog.at_level(logging.INFO, logger="bot.instances"):
            caplog.clear()
            job.func(*job.args, **job.kwargs)
        skipped = f"{name}: another instance is doing it; skipped here"
        # On PostgreSQL the lock is shared and the job stands aside; SQLite has one scheduler per file.
        assert (skipped in caplog.messages) == is_postgres_url(database)
    finally:
        scheduler.shutdown(wait=True)
        other.close()


def test_the_digest_counts_the_alerts_opened_in_its_24_hours(store):
    from bot.incidents import IncidentBook

    end = datetime(2026, 11, 24, 9, tzinfo=UTC)
    book = IncidentBook(store)
    acked = book.fire("acme-api", "H12", "spike", 5, end - timedelta(hours=3), "C0ALERTS")
    book.ack(acked.id, "U1", end - timedelta(hours=2))
    book.fire("acme-api", "R14", "memory", 2, end - timedelta(hours=1), "C0ALERTS")
    book.fire("acme-api", "H10", "new", 1, end - timedelta(days=1, minutes=1), "C0ALERTS")  # the day before
    book.fire("acme-api", "H13", "new", 1, end, "C0ALERTS")  # after the window
    digest = build_stored_digest(store, settings(), end)
    assert digest.alerts == {"opened": 2, "acked": 1, "open": 2}
    assert digest.alerts_line == "2 alert(s) (1 acked, 2 still open)"


@pytest.mark.parametrize(
    "fault, why",
    [
        ({"body": {"ok": False, "error": "fatal_error"}}, "(fatal_error); will try again"),
        ({"body": {"ok": False, "error": "service_unavailable"}}, "(service_unavailable); will try again"),
        ({"body": {"ok": False, "error": "request_timeout"}}, "(request_timeout); will try again"),
        ({"status": 500, "body": {"ok": False}}, "(HTTP 500); will try again"),  # no error named: the status
        ({"status": 404, "body": {"ok": False}}, "(HTTP 404)"),
    ],
    ids=["fatal_error", "service_unavailable", "request_timeout", "500-unnamed", "404-unnamed"],
)
def test_a_failure_of_the_moment_is_tried_again_and_one_that_is_not_is_said_once(
    fake, client, store, fault, why
):
    fake.fail("chat.postMessage", **fault)
    assert (
        post_daily_digest(client, store, settings()) == f"could not post the {DAY} digest to {CHANNEL} {why}"
    )
    assert store.digest_record(CHANNEL, DAY) is None


def test_a_digest_another_instance_posts_while_ours_is_on_its_way_stays_and_ours_goes(fake, client, store):
    # Two instances with separate databases: the other posts while Slack is slow to take ours. Ours is
    # the later one, so it is ours that goes, and the record names theirs.
    fake.fail("chat.postMessage", delay=0.5, times=1)
    outcome: list[str] = []
    ours = threading.Thread(target=lambda: outcome.append(post_daily_digest(client, store, settings())))
    ours.start()
    fake.wait_for("chat.postMessage", channel=CHANNEL)
    theirs = client.chat_postMessage(
        channel=CHANNEL, text="digest", metadata={"event_type": DIGEST_EVENT, "event_payload": {"day": DAY}}
    )["ts"]
    ours.join(10)
    assert outcome == [f"found the {DAY} digest posted just before ours (ts {theirs}); deleted ours"]
    [deleted] = fake.calls_to("chat.delete", channel=CHANNEL)
    assert float(deleted.params["ts"]) > float(theirs)
    assert [m["ts"] for m, _ in fake.history[CHANNEL]] == [theirs]  # no thread of ours either
    record = store.digest_record(CHANNEL, DAY)
    assert (record["state"], record["ts"]) == ("posted", theirs)


def test_a_poll_asked_for_while_one_runs_is_skipped_and_the_digests_poll_waits_its_turn(store, caplog):
    from fakes.heroku import FakeHeroku, history

    heroku = FakeHeroku()
    heroku.add_app("acme-api", history(datetime.now(UTC) - timedelta(minutes=30)))
    heroku.fail("session", "acme-api", delay=0.5)  # Heroku is slow to open the first log session
    s = against(heroku)
    try:
        first = threading.Thread(target=run_poll, args=(s, store))
        first.start()
        heroku.wait_for("POST", "/apps/acme-api/log-sessions")
        with caplog.at_level(logging.INFO, logger="bot.jobs"):
            run_poll(s, store)  # the interval job's next round: skipped
            assert first.is_alive()
            run_poll(s, store, wait=True)  # the digest's: after the first, then its own
        first.join(10)
    finally:
        heroku.close()
    assert [r.getMessage() for r in caplog.records if r.name == "bot.jobs"] == [
        "poll skipped: the previous one is still running"
    ]
    assert len(heroku.requests_to("POST", "/apps/acme-api/log-sessions")) == 2
    assert len(store.poll_runs("acme-api")) == 2


def test_in_tail_mode_a_scheduled_poll_leaves_the_tailed_heroku_apps_alone(store):
    from fakes.heroku import FakeHeroku, history

    heroku = FakeHeroku()
    heroku.add_app("acme-api", history(datetime.now(UTC) - timedelta(minutes=30)))
    s = against(
        heroku,
        apps=(WatchedApp("heroku", "acme-api"), WatchedApp("fly", "acme-edge")),
        heroku_tail=True,
        fly_api_token="t" * 20,
        fly_api_url="http://127.0.0.1:9",  # refused: the Fly app's poll fails, and is recorded
    )
    try:
        run_poll(s, store)
    finally:
        heroku.close()
    assert heroku.requests_to("POST", "/apps/acme-api/log-sessions") == []  # tail mode reads it
    assert store.poll_runs("acme-api") == [] and len(store.poll_runs("acme-edge")) == 1


def test_coverage_expects_a_poll_every_dynodoc_poll_minutes(store):
    """Coverage counts polls against DYNODOC_POLL_MINUTES, not the store's five-minute default."""
    end = datetime(2026, 11, 24, 9, tzinfo=UTC)
    for i in range(12):  # every 10 minutes from 07:00 to 08:50
        started = end - timedelta(minutes=10 * (i + 1))
        store.record_run(PollRun("acme-api", "heroku", started, started + timedelta(seconds=2), "ok", 100, 0))
    for minutes, expected in ((10, 13), (5, 25)):  # 07:00 to 09:00, both ends counted
        digest = build_stored_digest(store, settings(poll_minutes=minutes), end)
        api = {a.app: a for a in digest.apps}["acme-api"]
        assert (api.polls_done, api.polls_expected) == (12, expected)


def test_the_digests_title_is_its_day_where_it_is_due(fake, client, store):
    # 09:00:30 UTC on the 24th is 22:00:30 on the 23rd in Pago Pago (UTC-11): that evening's digest.
    s = settings(tz="Pacific/Pago_Pago", digest_time=clock(22, 0))
    assert post_daily_digest(client, store, s) == f"posted the 2026-11-23 digest to {CHANNEL}"
    [post] = digest_posts(fake)
    assert "Dyno Doctor digest · 2026-11-23" in str(post.params.get("blocks"))


def test_the_scheduler_sees_a_trigger_on_the_bots_clock():
    from apscheduler.triggers.date import DateTrigger

    from bot.jobs import OnClock

    nine = CronTrigger(hour=9, minute=0, timezone=UTC)
    ahead = OnClock(nine, skew=timedelta(hours=2))  # the bot's clock runs 2 hours ahead of the wall
    wall = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # 07:00 on the bot's clock: 09:00 is 2 hours away
    assert ahead.get_next_fire_time(None, wall) == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    assert str(ahead) == str(nine)  # APScheduler names the job's trigger by it
    done = DateTrigger(run_date=datetime(2026, 11, 24, 9, tzinfo=UTC))
    assert OnClock(done, skew=timedelta(hours=2)).get_next_fire_time(done.run_date, wall) is None
