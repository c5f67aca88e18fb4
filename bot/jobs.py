"""The schedule inside `dynodoc serve` (APScheduler 3.x): poll every N minutes, post the digest once a day.

Posting is exactly once per channel per day, across restarts, crashes and a lost database: the intent
is recorded first, then the message is posted (tagged with Slack message metadata naming the day),
then it is marked posted. Before posting, the channel's history is read for a message tagged with that
day, so a crash between posting and recording, or a database wiped with the dyno, never posts twice.
"""

from __future__ import annotations

import functools
import http.client
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import system_clock
from bot.config import Settings
from bot.digest import Digest, build_digest, hour_of
from bot.instances import DIGEST_EVENT, earlier_digest, only_one, tagged_digests, while_ours
from bot.knowledge import KnowledgeBase
from bot.store import Store

log = logging.getLogger(__name__)

HISTORY_DAYS = 8  # the digest compares with the previous day and the 7 days before that
RETRY_LATER = "; will try again"
_PASSING = ("ratelimited", "fatal_error", "internal_error", "service_unavailable", "request_timeout")
IN_PROGRESS = timedelta(minutes=2)  # an intent younger than this belongs to a process still posting


def digest_trigger(settings: Settings) -> CronTrigger:
    t = settings.digest_time
    return CronTrigger(hour=t.hour, minute=t.minute, timezone=ZoneInfo(settings.tz))


def last_due(settings: Settings, now: datetime) -> datetime:
    """The most recent scheduled digest time at or before `now`, in the digest's time zone."""
    tz = ZoneInfo(settings.tz)
    local = now.astimezone(tz)
    due = datetime(
        local.year, local.month, local.day, settings.digest_time.hour, settings.digest_time.minute, tzinfo=tz
    )
    return due if due <= local else due - timedelta(days=1)


def build_stored_digest(
    store: Store, settings: Settings, end: datetime, app: str | None = None, kb: KnowledgeBase | None = None
) -> Digest:
    """The digest of the watched apps (or one of them) for the 24 h up to `end`, from the database."""
    apps = [a for a in settings.apps if app is None or a.name == app]
    since = end - timedelta(days=HISTORY_DAYS)
    tallies = [store.digest_tally(a.name, a.platform, since, end, settings.poll_minutes) for a in apps]
    from bot.incidents import IncidentBook

    alerts = IncidentBook(store).counts(end - timedelta(days=1), end)
    return replace(build_digest(tallies, end, kb), alerts=alerts)


def find_posted_digest(client, channel: str, day: str, since: datetime) -> str | None:
    """The ts of the digest for `day` already in the channel (the earliest), found by its message metadata."""
    found = tagged_digests(client, channel, day, since)
    return found[0] if found else None


def post_daily_digest(client, store: Store, settings: Settings, kb: KnowledgeBase | None = None) -> str:
    """Post the digest due most recently on the store's clock, unless it is already in the channel.
    Returns what happened."""
    from slack_sdk.errors import SlackApiError

    from bot.render.blocks import render_digest

    channel = settings.digest_channel
    if not channel:
        return "no DYNODOC_DIGEST_CHANNEL set"
    now = store.clock()
    due = last_due(settings, now)
    day = due.date().isoformat()
    record = store.digest_record(channel, day)
    if record and record["state"] == "posted":
        return f"already posted for {day}"
    if record is None:
        if not store.claim_digest(channel, day):
            return f"another process is posting the digest for {day}"
        since = due - timedelta(minutes=5)  # a digest is never posted before it is due
        created = None
    else:
        # An intent without a post: a crash between posting and recording, or another process at work.
        created = datetime.fromisoformat(record["created"])
        since = min(due, created) - timedelta(minutes=5)
    # The channel itself is the last word: after a crash, or on a host whose disk (and so this database)
    # does not survive a restart, like a Heroku dyno, the digest may be there with no record of it.
    try:
        ts = find_posted_digest(client, channel, day, since)
    except SlackApiError as exc:
        log.warning(
            "could not read %s history to check for the %s digest (%s); posting it",
            channel,
            day,
            exc.response.get("error"),
        )
        ts = None
    if ts:
        store.mark_digest_posted(channel, day, ts)
        return f"found the {day} digest already posted (ts {ts}); recorded it"
    if created is not None and now - created < IN_PROGRESS:
        return f"another process is posting the digest for {day}"
    # On time, the window is the 24 full hours up to now; a late run (after downtime) takes in the
    # hour under way too, so that nothing polled is left out.
    end = hour_of(now) if now - hour_of(now) < timedelta(minutes=5) else hour_of(now) + timedelta(hours=1)
    digest = build_stored_digest(store, settings, end, kb=kb)
    messages = render_digest(digest, f"Dyno Doctor digest · {day}")
    try:
        resp = client.chat_postMessage(
            channel=channel,
            **messages[0].payload(),
            metadata={"event_type": DIGEST_EVENT, "event_payload": {"day": day}},
        )
    except SlackApiError as exc:
        # Slack said no, so nothing was posted: drop the intent so a later run (or restart) can try again.
        store.forget_digest_claim(channel, day)
        error = exc.response.get("error", "") or f"HTTP {exc.response.status_code}"
        hint = " — invite the bot to the channel" if error in ("not_in_channel", "channel_not_found") else ""
        again = RETRY_LATER if exc.response.status_code >= 500 or error in _PASSING else ""
        return f"could not post the {day} digest to {channel} ({error}){hint}{again}"
    except (OSError, http.client.HTTPException) as exc:  # URLError, resets and timeouts are OSErrors
        # The request may or may not have reached Slack. Drop the intent: the retry reads the channel's
        # history first, so a post that did land is found and recorded, never posted twice.
        store.forget_digest_claim(channel, day)
        return f"could not reach Slack to post the {day} digest ({type(exc).__name__}){RETRY_LATER}"
    # Two instances without a shared database may both have got here: at most one digest stays.
    earlier = earlier_digest(client, channel, day, since, resp["ts"])
    if earlier:
        store.mark_digest_posted(channel, day, earlier)
        return f"found the {day} digest posted just before ours (ts {earlier}); deleted ours"
    store.mark_digest_posted(channel, day, resp["ts"])
    for message in messages[1:]:
        client.chat_postMessage(
            channel=resp.get("channel") or channel, thread_ts=resp["ts"], **message.payload()
        )
    return f"posted the {day} digest to {channel}"


# One poll at a time, whoever asks: the interval job skips a round while a poll runs, the digest waits
# for it and then polls once more so that what it posts is up to the minute.
_polling = threading.Lock()


def polled_apps(settings: Settings) -> tuple:
    """The apps polled by sessions: all of them, less the Heroku apps that tail mode keeps tailed."""
    if settings.heroku_tail:
        return tuple(a for a in settings.apps if a.platform != "heroku")
    return settings.apps


def run_poll(settings: Settings, store: Store, *, wait: bool = False, on_result=None) -> None:
    from bot.poll import poll_all

    apps = polled_apps(settings)
    if not apps:
        return
    if not _polling.acquire(blocking=wait):
        log.info("poll skipped: the previous one is still running")
        return
    try:
        for result in poll_all(settings, store, apps=apps, on_result=on_result):
            if result.error:
                log.warning("poll %s: %s", result.app, result.error)
    except Exception:  # a scheduled job must never take the bot down; the next run tries again
        log.exception("poll failed")
    finally:
        _polling.release()


# Waits between tries when Slack cannot be reached or answers 5xx at digest time: about 2 hours in all.
RETRY_DELAYS = (30, 60, 120, 300, 600, 900, 1800, 1800, 1800)


def run_digest(
    client,
    settings: Settings,
    store: Store,
    kb: KnowledgeBase | None = None,
    poll_first: bool = False,
    delays: tuple[float, ...] = RETRY_DELAYS,
    sleep: Callable[[float], object] = time.sleep,
    on_result: Callable[..., object] | None = None,
) -> str | None:
    """Post the day's digest, retrying with backoff while Slack is unreachable or failing (5xx). Returns
    the last outcome. The job does not overlap itself, so a retry waits in its own thread only."""
    if poll_first:
        run_poll(settings, store, wait=True, on_result=on_result)
    outcome = ""  # the loop runs at least once: every path through it sets this or returns
    for wait in (*delays, None):
        try:
            outcome = post_daily_digest(client, store, settings, kb=kb)
        except Exception:
            log.exception("digest failed")
            return None
        if not outcome.endswith(RETRY_LATER) or wait is None:
            break
        log.warning("digest: %s (in %gs)", outcome, wait)
        sleep(wait)
    (log.warning if outcome.startswith("could not") else log.info)("digest: %s", outcome)
    return outcome


class OnClock(BaseTrigger):
    """A trigger whose times are the bot's clock's (`bot.clock`), for a scheduler that waits on the wall clock.

    APScheduler 3.x reads the wall clock itself (`datetime.now`) and has no way to be given another. The
    bot's clock is the wall clock in production (`skew` zero); a test's clock runs at the same speed from
    another moment ("it is 08:59:59 UTC on 24 November"), `skew` ahead of or behind it. So the wrapped
    trigger (the digest's time in its time zone, the poll interval) is asked on the bot's clock, and its
    answer handed to APScheduler on the wall clock: the real scheduler then waits, fires, coalesces and
    checks misfires as it always does."""

    def __init__(self, trigger: BaseTrigger, skew: timedelta = timedelta(0)):
        self.trigger, self.skew = trigger, skew

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        previous = previous_fire_time.astimezone(UTC) + self.skew if previous_fire_time else None
        following = self.trigger.get_next_fire_time(previous, now.astimezone(UTC) + self.skew)
        return following.astimezone(UTC) - self.skew if following else None

    def __str__(self) -> str:
        return str(self.trigger)


def start_scheduler(
    client, settings: Settings, store: Store, kb: KnowledgeBase | None = None, on_result=None
) -> BackgroundScheduler:
    """Start the jobs: polling (when apps are watched) and the daily digest (when a channel is set), on the
    store's clock. `on_result(PollResult)` hears each app's poll (alerts use it).

    Neither job overlaps itself; polling starts at once, and a digest missed while the bot was down
    runs once on start.
    """
    tz = ZoneInfo(settings.tz)
    now = store.clock()
    # How far the bot's clock is from the wall clock APScheduler waits on: none, unless a test moved it.
    skew = timedelta(0) if store.clock is system_clock else now - system_clock()
    scheduler = BackgroundScheduler(
        timezone=tz, job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 3600}
    )
    polling = bool(settings.apps)
    if polling:
        from bot.config import ConfigError
        from bot.poll import check_poll_settings

        try:
            check_poll_settings(settings)
        except ConfigError as exc:  # the bot still answers questions; say once why it does not poll
            log.warning("polling is off: %s", exc)
            polling = False
    if polling and settings.heroku_tail and any(a.platform == "heroku" for a in settings.apps):
        # Tail mode: poll_forever keeps one tail session per Heroku app open (and polls the rest) on a
        # thread of its own, stopped with the scheduler.
        from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN

        from bot.poll import poll_forever

        stop = threading.Event()
        # One instance tails (several would each hold Heroku log sessions open for the same lines).
        tail = functools.partial(poll_forever, settings, store, stop=stop, on_result=on_result)
        threading.Thread(
            target=while_ours, args=(store, "poll", tail, stop), daemon=True, name="dynodoc-tail"
        ).start()
        scheduler.add_listener(lambda _: stop.set(), EVENT_SCHEDULER_SHUTDOWN)
    elif polling:
        scheduler.add_job(
            only_one(store, "poll", run_poll),
            OnClock(IntervalTrigger(minutes=settings.poll_minutes, start_date=now, timezone=tz), skew),
            id="poll",
            args=[settings, store],
            kwargs={"on_result": on_result},
            next_run_time=now - skew,
        )
    if settings.digest_channel:
        digest_args = [client, settings, store, kb, polling]
        # The poll a digest starts with is a poll like any other: the alerts hear its results too.
        digest_kwargs = {"on_result": on_result}
        scheduler.add_job(
            only_one(store, "digest", run_digest),
            OnClock(digest_trigger(settings), skew),
            id="digest",
            args=digest_args,
            kwargs=digest_kwargs,
        )
        due = last_due(settings, now)
        record = store.digest_record(settings.digest_channel, due.date().isoformat())
        if now - due < timedelta(days=1) and not (record and record["state"] == "posted"):
            scheduler.add_job(
                only_one(store, "digest", run_digest),
                id="digest-missed",
                args=digest_args,
                kwargs=digest_kwargs,
                next_run_time=now - skew,
            )
    scheduler.start()
    return scheduler
