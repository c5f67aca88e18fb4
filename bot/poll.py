"""Polling: fetch each watched app's log lines, parse them, store events and rollups, record the run.

`poll_all(settings, store)` polls every app in DYNODOC_APPS once and returns one `PollResult` per app;
one app's failure (a rejected token, a missing app, a rate limit, an outage) is recorded for it and
the others go on. The platform clients live in `bot/sources/`, the tables in `bot/store.py`; this
module only decides what a fetched line means for the database:

- every line goes through `bot.logs.parse_line` (Fly.io entries first take flyctl's text form);
- a line is known by a stable hash of app and text, so overlapping polls add nothing twice;
- lines with a code become events; router lines feed the hourly rollups;
- Heroku: when the oldest line fetched is newer than the newest line stored, the lines between were
  lost (the app logged more than the 1,500-line history between two polls) and a gap is recorded;
- Fly.io: paging resumes from the stored next_token; a token older than the API's ~7 days of history
  means a gap.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from bot import logs
from bot.config import ConfigError, Settings, WatchedApp
from bot.logs import LogEvent, normalise_path
from bot.redact import redact
from bot.sources._http import RetryPolicy
from bot.sources.errors import RateLimited, SourceError
from bot.sources.fly import FlyEntry, FlyLogs
from bot.sources.heroku import HerokuLogs
from bot.store import LineRecord, PollRun, Store

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO, and Logplex URLs carry a session token: keep them out of logs.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

FLY_HISTORY = timedelta(days=7)  # what the Fly.io logs API keeps
SEEN_MARGIN = timedelta(hours=1)  # line hashes are kept this long before the oldest line a fetch returned
# A drain's runs carry this note; while one delivered lately, polling leaves the app to it (a poll reads
# at most 1,500 lines, a drain sees them all).
DRAIN_NOTE = "fed by its log drain"
DRAIN_FRESH = timedelta(minutes=15)
FIR_NOTE = (
    "Fir-generation app: Heroku keeps no log history for it, so a poll sees nothing; "
    "set DYNODOC_HEROKU_TAIL=1 to keep a tail session open instead"
)


@dataclass(frozen=True)
class PollResult:
    """What polling one app did, as `dynodoc poll` prints it and `poll_runs` keeps it."""

    app: WatchedApp
    started: datetime
    finished: datetime
    outcome: str = "ok"  # ok | partial | failed | skipped
    lines_read: int = 0
    new_lines: int = 0
    new_events: int = 0
    codes: tuple[tuple[str, int], ...] = ()  # codes of the new events, most frequent first
    gap: tuple[datetime, datetime] | None = None  # (newest line stored before, oldest line fetched)
    error: str | None = None
    note: str | None = None
    rate_limited: bool = False  # the platform said to slow down: its other apps wait for the next round

    @property
    def run(self) -> PollRun:
        return PollRun(
            app=self.app.name,
            platform=self.app.platform,
            started=self.started,
            finished=self.finished,
            outcome=self.outcome,
            lines_read=self.lines_read,
            new_events=self.new_events,
            codes=self.codes,
            gap_from=self.gap[0] if self.gap else None,
            gap_to=self.gap[1] if self.gap else None,
            error=self.error,
            note=self.note,
        )


def check_poll_settings(settings: Settings) -> None:
    """Raise `ConfigError` (one line naming the setting) if polling cannot start."""
    if not settings.apps:
        raise ConfigError(
            "DYNODOC_APPS is empty: name the apps to watch, e.g. DYNODOC_APPS=heroku:my-api,fly:my-fly-app"
        )
    for platform, setting, have in (
        ("heroku", "HEROKU_API_KEY", settings.heroku_api_key),
        ("fly", "FLY_API_TOKEN", settings.fly_api_token),
    ):
        names = [a.name for a in settings.apps if a.platform == platform]
        if names and not have:
            label = "Heroku" if platform == "heroku" else "Fly.io"
            raise ConfigError(
                f"DYNODOC_APPS names {label} apps ({', '.join(names)}) but {setting} is not set"
            )
    seen: dict[str, WatchedApp] = {}
    for app in settings.apps:
        if app.name in seen:
            raise ConfigError(
                f"DYNODOC_APPS lists {app.name} on both Heroku and Fly.io; events are kept per app "
                "name, so watch one of them"
            )
        seen[app.name] = app


def line_hash(app: str, line: str) -> str:
    """The stable identity of a log line of an app: the same line fetched twice hashes the same."""
    return hashlib.sha256(f"{app}\n{line}".encode("utf-8", "replace")).hexdigest()[:32]


def to_record(app: str, event: LogEvent, fallback_time: datetime, key: str | None = None) -> LineRecord:
    """A parsed line as the store keeps it: redacted, with its path normalised. `key` identifies the line
    when the platform gives it an id (two identical Fly.io lines in the same millisecond are two events)."""
    return LineRecord(
        line_hash=line_hash(app, f"{key}\n{event.line}" if key else event.line),
        time=event.time or fallback_time,
        line=redact(event.line).text,
        code=event.code,
        kind=event.kind,
        dyno=event.where,
        region=event.region,
        path=redact(normalise_path(event.path)).text if event.path else None,
        status=event.status,
        service_ms=event.service_ms,
        request=event.kind == "router"
        and event.process == "router"
        and (event.status or event.code) is not None,
    )


def fly_event(entry: FlyEntry) -> LogEvent:
    """Parse a Fly.io entry through the one parser, then add what only the API's meta carries."""
    event = logs.parse_line(entry.line)
    path = urlsplit(entry.url).path if entry.url else None
    region = event.region if event.region not in (None, "unk") else (entry.region or None)
    return replace(event, region=region, status=event.status or entry.status, path=event.path or path or None)


def token_time(token: str) -> datetime | None:
    """A Fly.io next_token (nanoseconds since the epoch) as a time, if it is one."""
    if not token.isdigit():
        return None
    try:
        return datetime.fromtimestamp(int(token) / 1e9, UTC)
    except (OverflowError, OSError, ValueError):
        return None


# --- one app ---------------------------------------------------------------------------------------------


def poll_heroku(
    app: WatchedApp, source: HerokuLogs, store: Store, *, keep_after: datetime, now: datetime
) -> PollResult:
    """Read the app's last 1,500 lines and keep the ones not stored yet."""
    before = store.cursor(app.name)
    fetched = source.fetch(app.name)
    # Lines stored by an earlier poll are recognised by their hash before any parsing or redaction: a
    # poll that re-reads the same 1,500 lines costs little more than the hashing.
    hashes = [line_hash(app.name, line) for line in fetched.lines]
    known = store.known_lines(app.name, hashes)
    events = [logs.parse_line(line) for line, h in zip(fetched.lines, hashes, strict=True) if h not in known]
    records = [to_record(app.name, event, now) for event in events]
    oldest = min((t for t in map(logs.line_time, fetched.lines) if t), default=None)
    gap = None
    if before and before.newest_time and oldest and oldest > before.newest_time:
        gap = (before.newest_time, oldest)
    saved = store.save_lines(
        app.name,
        "heroku",
        records,
        keep_after=keep_after,
        forget_seen_before=oldest - SEEN_MARGIN if oldest else None,
    )
    note = None
    if not fetched.lines and source.generation(app.name) == "fir":
        note = FIR_NOTE
    return PollResult(
        app,
        now,
        store.clock(),
        outcome="ok" if fetched.complete else "partial",
        lines_read=len(fetched.lines),
        new_lines=saved.new_lines,
        new_events=saved.new_events,
        codes=tuple(saved.codes.items()),
        gap=gap,
        error=fetched.problem,
        note=note,
    )


def poll_fly(
    app: WatchedApp, source: FlyLogs, store: Store, *, keep_after: datetime, now: datetime
) -> PollResult:
    """Page from the stored next_token to the newest entry, committing each page with its token."""
    before = store.cursor(app.name)
    cursor = before.cursor if before else ""
    last_read = token_time(cursor) if cursor else None
    gap = None
    lines = new_lines = new_events = pages = 0
    codes: Counter[str] = Counter()
    error = None
    try:
        for page in source.pages(app.name, cursor):
            pages += 1
            records = [to_record(app.name, fly_event(e), now, key=e.id or None) for e in page.entries]
            oldest = min(r.time for r in records)
            if pages == 1 and last_read and now - last_read > FLY_HISTORY and oldest > last_read:
                gap = (last_read, oldest)
            saved = store.save_lines(
                app.name,
                "fly",
                records,
                cursor=page.next_token,
                keep_after=keep_after,
                forget_seen_before=oldest - SEEN_MARGIN,
            )
            lines += len(records)
            new_lines += saved.new_lines
            new_events += saved.new_events
            codes.update(saved.codes)
    except SourceError as exc:
        if not pages:
            raise
        error = f"{exc.reason}; kept the {lines} lines read from {pages} page(s)"
    note = None
    if pages >= source.max_pages and error is None:
        note = f"read {pages} pages, the most one poll reads; the next poll goes on from there"
    return PollResult(
        app,
        now,
        store.clock(),
        outcome="partial" if error else "ok",
        lines_read=lines,
        new_lines=new_lines,
        new_events=new_events,
        codes=tuple(codes.most_common()),
        gap=gap,
        error=error,
        note=note,
    )


def fed_by_drain(store: Store, app: str, now: datetime) -> bool:
    """Did a log drain deliver the app's lines lately? Then polling its history adds nothing."""
    return any(
        run.note is not None and run.note.startswith(DRAIN_NOTE) and now - run.finished <= DRAIN_FRESH
        for run in store.poll_runs(app, limit=5)
    )


def poll_app(
    app: WatchedApp,
    source: HerokuLogs | FlyLogs,
    store: Store,
    *,
    retention_days: int = 30,
) -> PollResult:
    """Poll one app and record the run. Never raises for a platform fault: it becomes the run's error."""
    now = store.clock()
    keep_after = now - timedelta(days=retention_days)
    if isinstance(source, HerokuLogs) and fed_by_drain(store, app.name, now):
        return PollResult(app, now, now, outcome="skipped", note=DRAIN_NOTE)  # the drain records its own runs
    try:
        if isinstance(source, HerokuLogs):
            result = poll_heroku(app, source, store, keep_after=keep_after, now=now)
        else:
            result = poll_fly(app, source, store, keep_after=keep_after, now=now)
    except SourceError as exc:
        result = PollResult(
            app,
            now,
            store.clock(),
            outcome="failed",
            error=exc.reason,
            rate_limited=isinstance(exc, RateLimited),
        )
    except Exception as exc:  # a bug or a surprise must not stop the other apps
        # The traceback is redacted: exception texts can hold URLs, and Logplex URLs carry a token.
        log.error("polling %s failed:\n%s", app, redact(traceback.format_exc()).text)
        result = PollResult(
            app,
            now,
            store.clock(),
            outcome="failed",
            error=f"unexpected {type(exc).__name__} while polling; see the bot's log",
        )
    store.record_run(result.run)
    return result


# --- every app -------------------------------------------------------------------------------------------


def poll_all(
    settings: Settings,
    store: Store,
    *,
    policy: RetryPolicy | None = None,
    heroku: HerokuLogs | None = None,
    fly: FlyLogs | None = None,
    on_result: Callable[[PollResult], None] | None = None,
    apps: tuple[WatchedApp, ...] | None = None,
) -> list[PollResult]:
    """Poll every watched app once (or `apps`), then enforce retention. Clients are built from the
    settings unless given. A rate limit on one app skips that platform's remaining apps this round."""
    check_poll_settings(settings)
    policy = policy or RetryPolicy(base=settings.retry_base)
    apps = settings.apps if apps is None else apps
    own: list[HerokuLogs | FlyLogs] = []
    if heroku is None and any(a.platform == "heroku" for a in apps):
        heroku = HerokuLogs(
            settings.heroku_api_key,
            base_url=settings.heroku_api_url,
            timeout=settings.http_timeout,
            policy=policy,
        )
        own.append(heroku)
    if fly is None and any(a.platform == "fly" for a in apps):
        fly = FlyLogs(
            settings.fly_api_token,
            base_url=settings.fly_api_url,
            timeout=settings.http_timeout,
            policy=policy,
        )
        own.append(fly)
    results: list[PollResult] = []
    blocked: dict[str, str] = {}  # platform -> why its remaining apps wait for the next round
    try:
        for app in apps:
            now = store.clock()
            if app.platform in blocked:
                result = PollResult(app, now, now, outcome="skipped", error=blocked[app.platform])
                store.record_run(result.run)
            else:
                source = heroku if app.platform == "heroku" else fly
                assert source is not None
                result = poll_app(app, source, store, retention_days=settings.retention_days)
                if result.rate_limited:
                    blocked[app.platform] = f"skipped: rate limited while polling {app.name}; next poll"
            results.append(result)
            if on_result:
                on_result(result)
    finally:
        for client in own:
            client.close()
    store.enforce_retention(settings.retention_days)
    return results


# --- tail mode ---------------------------------------------------------------------------------------------


class HerokuTail:
    """Tail mode for Heroku (DYNODOC_HEROKU_TAIL=1): one `tail: true` session per app kept open and
    reopened when it ends, for full coverage (and the only way to see Fir-generation apps at all).
    Lines are stored every `flush_seconds` (or `flush_lines`) through the same store path as polls;
    `report()` records what arrived since the last report as one poll run."""

    def __init__(
        self,
        app: WatchedApp,
        source: HerokuLogs,
        store: Store,
        *,
        retention_days: int = 30,
        flush_seconds: float = 5.0,
        flush_lines: int = 500,
    ):
        self.app, self.source, self.store = app, source, store
        self.retention_days = retention_days
        self.flush_seconds, self.flush_lines = flush_seconds, flush_lines
        self.stop = threading.Event()
        self.error: str | None = None
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._since = store.clock()
        # The oldest line of the current session's history: a reopened session replays history from at
        # least there, so only line hashes older than it (less a margin) may be forgotten.
        self._session_oldest: datetime | None = None
        self._new_session = False
        self._totals = [0, 0, 0]  # lines, new lines, new events since the last report
        self._codes: Counter[str] = Counter()

    def _on_open(self) -> None:
        with self._lock:
            self._new_session = True

    def _on_line(self, line: str) -> None:
        with self._lock:
            if self._new_session:
                self._new_session = False
                first = logs.parse_line(line).time
                if first and (self._session_oldest is None or first > self._session_oldest):
                    self._session_oldest = first
            self._pending.append(line)
            full = len(self._pending) >= self.flush_lines
        if full:
            self.flush()

    def flush(self) -> None:
        """Store the lines read since the last flush (put back if storing fails)."""
        with self._lock:
            lines, self._pending = self._pending, []
        if not lines:
            return
        now = self.store.clock()
        records = [to_record(self.app.name, logs.parse_line(line), now) for line in lines]
        with self._lock:
            oldest = self._session_oldest
        try:
            saved = self.store.save_lines(
                self.app.name,
                "heroku",
                records,
                keep_after=now - timedelta(days=self.retention_days),
                forget_seen_before=oldest - SEEN_MARGIN if oldest else None,
            )
        except Exception:
            with self._lock:
                self._pending[:0] = lines
            raise
        with self._lock:
            self._totals[0] += len(lines)
            self._totals[1] += saved.new_lines
            self._totals[2] += saved.new_events
            self._codes.update(saved.codes)

    def report(self) -> PollResult:
        """Record (and return) one run for what the tail stored since the last report."""
        self.flush()
        with self._lock:
            (lines, new_lines, new_events), codes = self._totals, self._codes
            self._totals, self._codes = [0, 0, 0], Counter()
            started, self._since = self._since, self.store.clock()
        result = PollResult(
            self.app,
            started,
            self._since,
            outcome="failed" if self.error else "ok",
            lines_read=lines,
            new_lines=new_lines,
            new_events=new_events,
            codes=tuple(codes.most_common()),
            error=self.error,
            note="tail mode",
        )
        self.store.record_run(result.run)
        return result

    def _tail(self) -> None:
        try:
            self.source.tail(self.app.name, self._on_line, self.stop, on_open=self._on_open)
        except SourceError as exc:
            self.error = exc.reason
        finally:
            self.stop.set()

    def _flusher(self) -> None:
        while not self.stop.wait(self.flush_seconds):
            try:
                self.flush()
            except Exception:
                log.exception("storing tailed lines of %s failed; retrying at the next flush", self.app)

    def start(self) -> HerokuTail:
        for target in (self._tail, self._flusher):
            threading.Thread(target=target, name=f"tail-{self.app.name}", daemon=True).start()
        return self


def poll_forever(
    settings: Settings,
    store: Store,
    *,
    on_result: Callable[[PollResult], None] | None = None,
    stop: threading.Event | None = None,
    policy: RetryPolicy | None = None,
) -> None:
    """Poll every `poll_minutes` until `stop` is set (or Ctrl-C). With DYNODOC_HEROKU_TAIL=1, Heroku apps
    are tailed instead, and each round records what their tails stored since the round before."""
    check_poll_settings(settings)
    stop = stop or threading.Event()
    policy = policy or RetryPolicy(base=settings.retry_base)
    tails: list[HerokuTail] = []
    polled = settings.apps
    heroku = None
    if settings.heroku_tail and any(a.platform == "heroku" for a in settings.apps):
        heroku = HerokuLogs(
            settings.heroku_api_key,
            base_url=settings.heroku_api_url,
            timeout=settings.http_timeout,
            policy=policy,
        )
        tails = [
            HerokuTail(a, heroku, store, retention_days=settings.retention_days).start()
            for a in settings.apps
            if a.platform == "heroku"
        ]
        polled = tuple(a for a in settings.apps if a.platform != "heroku")

    def report_tails() -> None:
        for tail in tails:
            result = tail.report()
            if on_result:
                on_result(result)

    try:
        while True:
            if polled:
                poll_all(settings, store, policy=policy, on_result=on_result, apps=polled)
            else:
                store.enforce_retention(settings.retention_days)
            if stop.wait(settings.poll_minutes * 60):
                return
            report_tails()  # what each tail stored during the interval, as one run
    finally:
        for tail in tails:
            tail.stop.set()
        report_tails()
        if heroku:
            heroku.close()
