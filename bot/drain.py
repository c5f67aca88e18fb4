"""Heroku HTTPS log drains: `POST /drains/heroku/<app>` as Logplex sends it.

Logplex posts batches of RFC 6587 octet-counted RFC 5424 frames (`<bytes> <msg>`, STRUCTURED-DATA left
out) with `Content-Type: application/logplex-1`, `Logplex-Msg-Count` and a `Logplex-Frame-Id` that stays
the same when it retries (heroku/logplex `doc/README.http_drains.md`). Each frame becomes the line
`heroku logs` would print for it, then goes through the same parser, redaction and store as polled lines,
so a drained app's digest reads exactly like a polled one's. The request is answered as soon as its lines
are stored (a few milliseconds): Logplex gives up on slow drains, and Slack is never in this path.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import logs
from bot.config import Settings, WatchedApp
from bot.logs import LogEvent
from bot.poll import DRAIN_NOTE, PollResult, line_hash, to_record
from bot.store import Saved, Store

log = logging.getLogger(__name__)

DRAIN_PREFIX = "/drains/heroku/"
MAX_DRAIN_BYTES = 4_000_000  # Logplex batches are tens of KB; refuse anything far bigger

# One frame: its byte count, a space, then a syslog message "<PRI>1 TIMESTAMP HOST APP PROCID MSGID MSG".
_COUNT = re.compile(rb"(\d{1,7}) ")
_RESYNC = re.compile(rb"\d{1,7} <\d{1,3}>1 ")
_SYSLOG = re.compile(r"<\d{1,3}>1 (\S+) \S+ (\S+) (\S+) \S+ ?(.*)", re.DOTALL)


@dataclass(frozen=True)
class Frames:
    """The log lines of one drain request, as `heroku logs` prints them, and the frames it had to skip."""

    lines: list[str]
    malformed: int = 0


def parse_frames(body: bytes) -> Frames:
    """Split an `application/logplex-1` body into lines. A frame whose count or header is wrong is skipped
    and counted; reading resumes at the next thing that looks like a frame, so one bad frame costs one."""
    lines: list[str] = []
    malformed = 0
    pos, end = 0, len(body)
    while pos < end:
        while pos < end and body[pos] in b"\r\n ":
            pos += 1  # some senders put a newline between frames
        if pos >= end:
            break
        count = _COUNT.match(body, pos)
        start = count.end() if count else pos
        stop = start + int(count.group(1)) if count else -1
        line = _line(body[start:stop]) if count and stop <= end else None
        if line is None:
            malformed += 1
            nxt = _RESYNC.search(body, start if count else pos + 1)  # past this frame's own count
            if nxt is None:
                break
            pos = nxt.start()
            continue
        lines.append(line)
        pos = stop
    return Frames(lines, malformed)


def _line(frame: bytes) -> str | None:
    """One RFC 5424 message as a `heroku logs` line: `2012-11-30T06:45:29+00:00 app[web.3]: text`."""
    m = _SYSLOG.fullmatch(frame.decode("utf-8", "replace").rstrip("\r\n"))
    if not m:
        return None
    timestamp, source, process, text = m.groups()
    return f"{timestamp} {source}[{process}]: {text}"


def drain_password(environ: dict[str, Any]) -> str | None:
    """The password of the request's HTTP Basic credentials (the drain URL's `x:TOKEN@`), if any."""
    header = environ.get("HTTP_AUTHORIZATION") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2]


class DrainIngest:
    """Stores what drains deliver, one request per transaction, and reports it every minute as a run of
    the app (`dynodoc status` shows the drain as the app's source). `on_saved(app, saved, events)` is called
    after each store with what was new and the new lines parsed, for alerts; it must not block."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        on_saved: Callable[[WatchedApp, Saved, list[LogEvent]], None] | None = None,
    ):
        self.token = settings.drain_token
        self.retention_days = settings.retention_days
        self.apps = {a.name: a for a in settings.apps if a.platform == "heroku"}
        self.store = store
        self.on_saved = on_saved
        self._lock = threading.Lock()
        self._since: dict[str, datetime] = {}
        self._totals: dict[str, list[int]] = {}  # app -> [lines, new lines, new events, malformed, retries]
        self._codes: dict[str, Counter[str]] = {}

    def handle(self, path: str, environ: dict[str, Any], body: bytes) -> tuple[str, str]:
        """Answer one drain request: (HTTP status line, short text)."""
        if not self.token:
            return "404 Not Found", "log drains are off: set DYNODOC_DRAIN_TOKEN"
        password = drain_password(environ)
        if password is None or not hmac.compare_digest(password.encode(), self.token.encode()):
            log.warning(
                "refused a drain request from %s: wrong or missing credentials", environ.get("REMOTE_ADDR")
            )
            return "401 Unauthorized", "wrong or missing drain credentials"
        app = self.apps.get(path[len(DRAIN_PREFIX) :].strip("/"))
        if app is None:
            return "404 Not Found", "no such app in DYNODOC_APPS"
        if environ.get("REQUEST_METHOD") != "POST":
            return "405 Method Not Allowed", "POST log frames here"
        frames = parse_frames(body)
        try:
            self.ingest(app, frames)
        except Exception as exc:  # the database is busy or full: Logplex retries anything but a 4xx
            log.warning("could not store drained lines of %s: %s", app.name, type(exc).__name__)
            return "503 Service Unavailable", "could not store the lines now; retry"
        frame_id = (environ.get("HTTP_LOGPLEX_FRAME_ID") or "")[:100]
        retry = bool(frame_id) and not self.store.first_sighting(f"drain:{app.name}:{frame_id}")
        with self._lock:
            self._since.setdefault(app.name, self.store.clock())
            totals = self._totals.setdefault(app.name, [0, 0, 0, 0, 0])
            totals[3] += frames.malformed
            totals[4] += retry
        return "204 No Content", ""

    def ingest(self, app: WatchedApp, frames: Frames) -> Saved:
        """Store the new lines of one request (lines already stored, as in a retried frame, are skipped
        by their hash before parsing)."""
        now = self.store.clock()
        hashes = [line_hash(app.name, line) for line in frames.lines]
        known = self.store.known_lines(app.name, hashes)
        events = [
            logs.parse_line(line) for line, h in zip(frames.lines, hashes, strict=True) if h not in known
        ]
        records = [to_record(app.name, event, now) for event in events]
        saved = (
            self.store.save_lines(
                app.name, "heroku", records, keep_after=now - timedelta(days=self.retention_days)
            )
            if records
            else Saved()
        )
        with self._lock:
            self._since.setdefault(app.name, now)
            totals = self._totals.setdefault(app.name, [0, 0, 0, 0, 0])
            totals[0] += len(frames.lines)
            totals[1] += saved.new_lines
            totals[2] += saved.new_events
            self._codes.setdefault(app.name, Counter()).update(saved.codes)
        if self.on_saved is not None and saved.new_lines:
            self.on_saved(app, saved, events)
        return saved

    def report(self) -> list[PollResult]:
        """Record one run per app that a drain fed since the last report."""
        now = self.store.clock()
        with self._lock:
            done = [
                (name, self._since.pop(name), self._totals.pop(name, [0, 0, 0, 0, 0]))
                for name in list(self._since)
            ]
            codes = {name: self._codes.pop(name, Counter()) for name, _, _ in done}
        results = []
        for name, since, (lines, new_lines, new_events, malformed, retries) in done:
            note = DRAIN_NOTE
            if malformed or retries:
                note += f" ({malformed} malformed frames skipped, {retries} retried batches)"
            result = PollResult(
                self.apps[name],
                since,
                now,
                lines_read=lines,
                new_lines=new_lines,
                new_events=new_events,
                codes=tuple(codes[name].most_common()),
                note=note,
            )
            self.store.record_run(result.run)
            results.append(result)
        return results

    def start_reports(self, every: float = 60.0) -> threading.Event:
        """Report once a minute on a daemon thread; set the returned event to stop."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(every):
                try:
                    self.report()
                except Exception:  # the store may be busy or gone for a moment: the next minute reports it
                    log.exception("recording drain runs failed; retrying in a minute")

        threading.Thread(target=loop, name="drain-reports", daemon=True).start()
        return stop


def drain_command(app: str, public_url: str) -> str:
    """The `heroku drains:add` command that points an app's logs at this bot. The token stays in the
    shell's variable: the bot never prints it."""
    base = public_url.rstrip("/").removeprefix("https://").removeprefix("http://")
    return f'heroku drains:add "https://x:${{DYNODOC_DRAIN_TOKEN}}@{base}{DRAIN_PREFIX}{app}" -a {app}'
