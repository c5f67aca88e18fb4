"""Alerts within a minute: what fires, and getting it to Slack once, in order, whatever Slack does.

`AlertEngine.observe(batch)` is called with what a drain request (or a poll) just stored; it returns at once
and a worker thread applies the rules below, records firings in `IncidentBook` and wakes `AlertSender`,
which delivers the outbox to Slack. Rules are small functions with their priority beside them: when
several fire for one code, the highest priority names the incident.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.error import URLError

from slack_sdk.errors import SlackApiError

from bot.config import Settings, WatchedApp
from bot.incidents import Incident, IncidentBook, OutboxRow
from bot.knowledge import KnowledgeBase
from bot.logs import LogEvent
from bot.render.alerts import ALERT_EVENT, alert_message, recovered_text, reply_text
from bot.store import Store

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=10)  # the window a spike or a crash loop is counted in
BASELINE = timedelta(days=7)
SPIKE_FLOOR = 20  # fewer than this many in the window is never a spike: two H12s are not an outage
SPIKE_RATIO = 10.0  # times the code's 7-day average per window
CRASH_LOOP = 3  # crashes of one app within the window
CRASH = "crash"  # the incident code of a crash loop seen from state changes, not from a router code
OOM = "oom"  # the incident code of a memory kill without a code (Fly's OOM killer)


@dataclass(frozen=True)
class Batch:
    """What one drain request or one poll just stored for one app."""

    app: WatchedApp
    codes: Mapping[str, int]  # new coded events, by code
    since: datetime  # the oldest new line: "new code" looks back from here
    now: datetime
    crashes: int = 0  # crash state changes / machine exits among the new lines
    oom_kills: int = 0


def batch_of(app: WatchedApp, codes: Mapping[str, int], events: list[LogEvent], now: datetime) -> Batch:
    """A Batch from the parsed new lines (crashes and OOM kills carry no code, so only lines show them)."""
    times = [e.time for e in events if e.time is not None]
    return Batch(
        app,
        dict(codes),
        since=min(times, default=now),
        now=now,
        crashes=sum(e.state_to == "crashed" for e in events),
        oom_kills=sum(e.oom for e in events),
    )


@dataclass(frozen=True)
class Firing:
    code: str
    reason: str  # new | spike | crash-loop | memory | platform
    count: int


class History:
    """What the rules may ask about an app's past, from the store plus the crashes seen lately."""

    def __init__(self, store: Store):
        self.store = store
        self._crashes: dict[str, deque[datetime]] = {}

    def seen_before(self, app: str, code: str, before: datetime) -> bool:
        return self.store.count_events(app, code, before - BASELINE, before) > 0

    def in_window(self, app: str, code: str, now: datetime) -> int:
        return self.store.count_events(app, code, now - WINDOW, now + timedelta(seconds=1))

    def baseline(self, app: str, code: str, now: datetime) -> float:
        """The code's average count per window over the 7 days before the current window."""
        start = now - WINDOW
        return self.store.count_events(app, code, start - BASELINE, start) / (BASELINE / WINDOW)

    def crashes(self, app: str, new: int, now: datetime) -> int:
        seen = self._crashes.setdefault(app, deque())
        seen.extend([now] * new)
        while seen and seen[0] < now - WINDOW:
            seen.popleft()
        return len(seen)


Rule = Callable[[Batch, History, KnowledgeBase], list[Firing]]
RULES: list[tuple[int, Rule]] = []


def rule(priority: int) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES.append((priority, fn))
        RULES.sort(key=lambda pair: -pair[0])
        return fn

    return register


@rule(50)
def platform_side(batch: Batch, history: History, kb: KnowledgeBase) -> list[Firing]:
    """A code the platform owns (H99, R99, Fly's PU/PE errors): nothing in the app can fix it, so say so."""
    return [
        Firing(code, "platform", n)
        for code, n in batch.codes.items()
        if (entry := kb.get(code)) is not None and entry.blame == "platform"
    ]


@rule(40)
def memory_kill(batch: Batch, history: History, kb: KnowledgeBase) -> list[Firing]:
    """R15 or the OOM killer: the process was stopped for memory, requests fail until it is back."""
    found = [Firing("R15", "memory", batch.codes["R15"])] if batch.codes.get("R15") else []
    if batch.oom_kills:
        found.append(Firing(OOM, "memory", batch.oom_kills))
    return found


@rule(30)
def crash_loop(batch: Batch, history: History, kb: KnowledgeBase) -> list[Firing]:
    """Repeated crashes within minutes: the app is crash-looping (state changes, or H10s at the router)."""
    found = []
    if batch.crashes and history.crashes(batch.app.name, batch.crashes, batch.now) >= CRASH_LOOP:
        found.append(Firing(CRASH, "crash-loop", batch.crashes))
    if batch.codes.get("H10") and history.in_window(batch.app.name, "H10", batch.now) >= CRASH_LOOP:
        found.append(Firing("H10", "crash-loop", batch.codes["H10"]))
    return found


@rule(20)
def new_code(batch: Batch, history: History, kb: KnowledgeBase) -> list[Firing]:
    """A code the app has not had in the last 7 days."""
    return [
        Firing(code, "new", n)
        for code, n in batch.codes.items()
        if not history.seen_before(batch.app.name, code, batch.since)
    ]


@rule(10)
def spike(batch: Batch, history: History, kb: KnowledgeBase) -> list[Firing]:
    """Far more of a code in the last 10 minutes than its 7-day average (and at least SPIKE_FLOOR)."""
    found = []
    for code, n in batch.codes.items():
        recent = history.in_window(batch.app.name, code, batch.now)
        if recent >= SPIKE_FLOOR and recent >= SPIKE_RATIO * history.baseline(
            batch.app.name, code, batch.now
        ):
            found.append(Firing(code, "spike", n))
    return found


def firings(batch: Batch, history: History, kb: KnowledgeBase) -> list[Firing]:
    """Every code that fires in `batch`, once, under its highest-priority reason. A code already firing in an
    open incident keeps firing (its count grows) whatever rule sees it now."""
    chosen: dict[str, Firing] = {}
    for _, fn in RULES:
        for firing in fn(batch, history, kb):
            chosen.setdefault(firing.code, firing)
    return list(chosen.values())


class AlertEngine:
    """Applies the rules to each observed batch on its own thread and records what fires."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        kb: KnowledgeBase,
        book: IncidentBook,
        wake: Callable[[], None],
        release: Mapping[str, Callable[[str, datetime], str | None]] | None = None,
    ):
        self.channel = settings.alert_channel or settings.digest_channel
        self.kb, self.book, self.wake = kb, book, wake
        self.release = release or {}  # platform -> the deploy just before a new incident, as a sentence
        self.history = History(store)
        self._queue: queue.Queue[Batch | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def observe(self, batch: Batch) -> None:
        """Queue a batch; returns at once (a drain request must never wait for this)."""
        if self.channel and (batch.codes or batch.crashes or batch.oom_kills):
            self._queue.put(batch)

    def process(self, batch: Batch) -> list[Incident]:
        """Apply the rules to one batch; open incidents are fed by any later batch with their code."""
        fired = {f.code: f for f in firings(batch, self.history, self.kb)}
        for code, n in batch.codes.items():
            if code not in fired and self.book.current(batch.app.name, code):
                fired[code] = Firing(code, "ongoing", n)
        opened = []
        for firing in fired.values():
            release = None
            lookup = self.release.get(batch.app.platform)
            if lookup and not self.book.current(batch.app.name, firing.code):
                release = lookup(batch.app.name, batch.now)
            incident = self.book.fire(
                batch.app.name, firing.code, firing.reason, firing.count, batch.now, self.channel, release
            )
            if incident is not None:
                opened.append(incident)
        if opened:
            self.wake()
        return opened

    def start(self) -> AlertEngine:
        def loop() -> None:
            while (batch := self._queue.get()) is not None:
                try:
                    self.process(batch)
                except Exception:
                    log.exception("evaluating alerts for %s failed", batch.app)
                finally:
                    self._queue.task_done()

        self._thread = threading.Thread(target=loop, name="alerts", daemon=True)
        self._thread.start()
        return self

    def drain(self, timeout: float = 5.0) -> None:
        """Wait until every queued batch is processed (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)


# Slack errors that retrying cannot fix: the row is kept as failed, with the reason, and the next goes.
_PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "missing_scope",
    "invalid_blocks",
    "msg_too_long",
    "message_not_found",
    "cant_update_message",
}


class AlertSender:
    """Delivers the outbox in order: posts, updates of the post, thread replies. A 429 waits Retry-After, a
    network error or a 5xx backs off and retries the same row (later rows wait: order is kept); a post that
    may have reached Slack before a crash is looked up by its metadata before it is sent again."""

    def __init__(
        self,
        client,
        book: IncidentBook,
        kb: KnowledgeBase,
        *,
        mention: str = "",
        sleep: Callable[[float], None] | None = None,
        now: Callable[[], datetime] | None = None,
    ):
        self.client, self.book, self.kb, self.mention = client, book, kb, mention
        self.now = now or book.store.clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._sleep = sleep or (lambda seconds: self._stop.wait(seconds))
        self.delay = 1.0

    def wake(self) -> None:
        self._wake.set()

    def run_once(self) -> int:
        """Send what is pending, in order, until the outbox is empty or a row must wait. Returns rows done."""
        done = 0
        for row in self.book.pending():
            self.book.claim(row)  # before the incident is read: a later click queues its own update
            incident = self.book.get(row.incident_id)
            if incident is None:
                self.book.give_up(row, "incident gone", self.now())
                continue
            try:
                self._send(row, incident)
            except SlackApiError as exc:
                error = str(exc.response.get("error") or exc.response.status_code)
                if exc.response.status_code == 429:
                    wait = float(exc.response.headers.get("Retry-After", "1") or 1)
                    log.warning("Slack asked to slow down alerts; waiting %.0f s", wait)
                    self._sleep(min(wait, 300))
                    return done
                if error in _PERMANENT or (
                    400 <= exc.response.status_code < 500 and exc.response.status_code != 408
                ):
                    log.warning(
                        "Slack refused alert %s for %s %s: %s", row.action, incident.app, incident.code, error
                    )
                    self.book.give_up(row, error, self.now())
                    done += 1
                    continue
                return self._back_off(row, error)
            except (URLError, OSError, TimeoutError) as exc:
                return self._back_off(row, type(exc).__name__)
            self.delay = 1.0
            done += 1
        return done

    def _back_off(self, row: OutboxRow, error: str) -> int:
        self.book.retry_later(row, error)
        log.warning("could not reach Slack for an alert (%s); retrying in %.0f s", error, self.delay)
        self._sleep(self.delay)
        self.delay = min(self.delay * 2, 60.0)
        return 0

    def _send(self, row: OutboxRow, incident: Incident) -> None:
        now = self.now()
        if row.action == "post":
            ts = self._already_posted(incident) if row.tries else None
            if ts is None:
                self.book.retry_later(row, "sending")  # a crash after this leaves tries > 0: look first
                text, blocks = alert_message(incident, self.kb, now, self.mention)
                resp = self.client.chat_postMessage(
                    channel=incident.channel,
                    text=text,
                    blocks=blocks,
                    metadata={"event_type": ALERT_EVENT, "event_payload": {"incident": incident.id}},
                    unfurl_links=False,
                )
                ts = resp["ts"]
            self.book.sent(row, now, ts)
            return
        if incident.ts is None:
            # Its post never reached Slack (refused for good): nothing to update or reply to.
            self.book.give_up(row, "the alert was never posted", now)
            return
        if row.action == "update":
            text, blocks = alert_message(incident, self.kb, now, "")
            self.client.chat_update(channel=incident.channel, ts=incident.ts, text=text, blocks=blocks)
        elif row.action == "reply":
            self.client.chat_postMessage(
                channel=incident.channel, thread_ts=incident.ts, text=reply_text(incident)
            )
        elif row.action == "recovered":
            text, blocks = alert_message(incident, self.kb, now, "")
            self.client.chat_update(channel=incident.channel, ts=incident.ts, text=text, blocks=blocks)
            self.client.chat_postMessage(
                channel=incident.channel, thread_ts=incident.ts, text=recovered_text(incident)
            )
        self.book.sent(row, now)

    def _already_posted(self, incident: Incident) -> str | None:
        """The ts of this incident's alert if an earlier attempt reached Slack, found by its metadata."""
        resp = self.client.conversations_history(
            channel=incident.channel,
            oldest=f"{(incident.opened - timedelta(minutes=1)).timestamp():.6f}",
            limit=200,
            include_all_metadata=True,
        )
        for message in resp.get("messages", []):
            meta = message.get("metadata") or {}
            if (
                meta.get("event_type") == ALERT_EVENT
                and (meta.get("event_payload") or {}).get("incident") == incident.id
            ):
                return message.get("ts")
        return None

    def start(self, every: float = 5.0) -> AlertSender:
        """Send on a daemon thread: at once when woken, else every `every` seconds (and recover quiet
        incidents once a minute)."""

        def loop() -> None:
            last_recover = 0.0
            while not self._stop.is_set():
                self._wake.wait(every)
                self._wake.clear()
                try:
                    if time.monotonic() - last_recover >= 60:
                        last_recover = time.monotonic()
                        self.book.recover_quiet(self.now())
                    # Several instances may share a PostgreSQL database: one sends at a time, so no row twice.
                    with self.book.store.exclusive("alert-sender") as mine:
                        while mine and self.run_once():
                            pass
                except Exception:
                    log.exception("sending alerts failed; retrying")
                    self._stop.wait(every)

        threading.Thread(target=loop, name="alert-sender", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
