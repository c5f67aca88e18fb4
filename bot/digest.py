"""Error counts over time -> `Digest`: per app, the last 24 h against the previous 24 h and the 7-day average.

Two sources feed the same `Tally`: the events and hourly rollups that polling stores, and a log file
read straight from disk (`tally_log_file`). `build_digest` turns tallies into the report; the
renderers in `bot/render/` only format it.
"""

from __future__ import annotations

import io
import math
import multiprocessing
import os
import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import logs, signatures
from bot.logs import normalise_path

if TYPE_CHECKING:
    from bot.knowledge import KnowledgeBase

HOUR = timedelta(hours=1)
SPARK = "▁▂▃▄▅▆▇█"
# Service-time histogram bucket edges in ms: fine where people care (under a second), coarse above.
BUCKETS = (
    10,
    25,
    50,
    75,
    100,
    150,
    200,
    300,
    400,
    500,
    750,
    1000,
    1500,
    2000,
    3000,
    5000,
    7500,
    10000,
    15000,
    20000,
    25000,
    30000,
)


def bucket_of(ms: int) -> int:
    """Index of the histogram bucket for a service time (the last bucket holds everything >= 30 s)."""
    return bisect_left(BUCKETS, ms)


def percentile(hist: Counter, q: float) -> int | None:
    """The upper edge of the bucket that holds the q-th quantile of a bucket histogram."""
    total = sum(hist.values())
    if not total:
        return None
    rank = math.ceil(q * total)
    seen = 0
    for index in sorted(hist):
        seen += hist[index]
        if seen >= rank:
            return BUCKETS[index] if index < len(BUCKETS) else BUCKETS[-1]
    return BUCKETS[-1]


def hour_of(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass
class Tally:
    """Everything a digest needs about one app, in hourly buckets (bounded: one row per hour and code)."""

    app: str
    platform: str = "heroku"
    requests: Counter = field(default_factory=Counter)  # hour -> router requests
    server_errors: Counter = field(default_factory=Counter)  # hour -> 5xx responses
    codes: Counter = field(default_factory=Counter)  # (hour, code) -> count
    paths: Counter = field(default_factory=Counter)  # (hour, code, path) -> count
    places: Counter = field(default_factory=Counter)  # (hour, code, dyno or machine) -> count
    service: dict = field(default_factory=lambda: defaultdict(Counter))  # hour -> bucket histogram
    raw_service: dict = field(default_factory=lambda: defaultdict(Counter))  # hour -> {b"123": n}, from files
    first_seen: dict = field(default_factory=dict)  # code -> first time ever seen (for "new")
    polls_expected: int = 0
    polls_done: int = 0
    gaps: list = field(default_factory=list)  # (start, end) of stretches where lines may be missing
    poll_error: str | None = None
    platform_votes: Counter = field(default_factory=Counter)

    def add_event(
        self, time: datetime, code: str, path: str | None = None, where: str | None = None, count: int = 1
    ) -> None:
        hour = hour_of(time)
        self.codes[hour, code] += count
        if path:
            self.paths[hour, code, normalise_path(path)] += count
        if where:
            self.places[hour, code, where] += count
        if code not in self.first_seen or time < self.first_seen[code]:
            self.first_seen[code] = time

    def merge(self, other: Tally) -> None:
        """Add another tally of the same app (another part of the same file) into this one."""
        for name in ("requests", "server_errors", "codes", "paths", "places", "platform_votes"):
            getattr(self, name).update(getattr(other, name))
        for name in ("service", "raw_service"):
            mine = getattr(self, name)
            for hour, hist in getattr(other, name).items():
                mine[hour].update(hist)
        for code, t in other.first_seen.items():
            if code not in self.first_seen or t < self.first_seen[code]:
                self.first_seen[code] = t
        if self.platform_votes:
            self.platform = self.platform_votes.most_common(1)[0][0]

    def fold(self, start: datetime, end: datetime) -> None:
        """Turn the raw service times read from a file into histogram buckets, for the hours in [start, end)."""
        for hour in [h for h in self.raw_service if start <= h < end]:
            hist = self.service[hour]
            for ms, n in self.raw_service.pop(hour).items():
                hist[bucket_of(int(ms))] += n

    @property
    def newest(self) -> datetime | None:
        hours = [h for h, _ in self.codes] + list(self.requests)
        return max(hours) + HOUR if hours else None


@dataclass(frozen=True)
class CodeStat:
    code: str
    count: int  # last 24 h
    previous: int  # the 24 h before
    daily_average: float  # over the 7 days before the last 24 h
    new: bool  # never seen before the last 24 h
    title: str
    meaning: str
    first_fix: str
    severity: str
    paths: tuple[tuple[str, int], ...]
    places: tuple[tuple[str, int], ...]

    @property
    def change(self) -> str:
        if self.previous == self.count:
            return "="
        arrow = "▲" if self.count > self.previous else "▼"
        if self.previous == 0:
            return f"{arrow} from 0"
        return f"{arrow}{abs(self.count - self.previous) / self.previous:.0%}"


@dataclass(frozen=True)
class AppDigest:
    app: str
    platform: str
    requests: int
    errors: int
    previous_errors: int
    error_rate: float | None  # errors / requests, when requests are known
    p95_ms: int | None
    codes: tuple[CodeStat, ...]
    sparkline: str  # 24 hourly error counts, oldest first
    polls_expected: int
    polls_done: int
    gaps: tuple[tuple[datetime, datetime], ...]
    poll_error: str | None

    @property
    def trouble(self) -> float:
        """How much attention the app needs; apps are listed most troubled first."""
        weight = {"low": 1, "medium": 3, "high": 6, "critical": 10}
        score = sum(c.count * weight.get(c.severity, 3) for c in self.codes)
        return score + (1_000_000 if self.poll_error else 0)

    @property
    def healthy(self) -> bool:
        return not self.codes and not self.poll_error


@dataclass(frozen=True)
class Digest:
    start: datetime
    end: datetime
    apps: tuple[AppDigest, ...]
    alerts: dict[str, int] | None = (
        None  # incidents opened in the window: opened, acked, open (from the store)
    )

    @property
    def alerts_line(self) -> str:
        """ "3 alerts (2 acked, 1 still open)", or "" when no incident opened."""
        if not self.alerts or not self.alerts.get("opened"):
            return ""
        a = self.alerts
        return f"{a['opened']} alert(s) ({a['acked']} acked, {a['open']} still open)"

    @property
    def total_errors(self) -> int:
        return sum(a.errors for a in self.apps)


def sparkline(values: list[int]) -> str:
    top = max(values, default=0)
    if top == 0:
        return SPARK[0] * len(values)
    return "".join(
        SPARK[min(len(SPARK) - 1, math.ceil(v / top * (len(SPARK) - 1)))] if v else SPARK[0] for v in values
    )


def _window(counter: Counter, start: datetime, end: datetime, key: Callable = lambda k: k) -> Counter:
    out: Counter = Counter()
    for k, n in counter.items():
        hour = k[0] if isinstance(k, tuple) else k
        if start <= hour < end:
            out[key(k)] += n
    return out


def summarise(tally: Tally, end: datetime, kb: KnowledgeBase) -> AppDigest:
    """One app's digest for the 24 h that end at `end` (an hour boundary)."""
    day = timedelta(days=1)
    start, prev_start, week_start = end - day, end - 2 * day, end - 8 * day
    now = _window(tally.codes, start, end, lambda k: k[1])
    prev = _window(tally.codes, prev_start, start, lambda k: k[1])
    week = _window(tally.codes, week_start, start, lambda k: k[1])
    days_before = max(1, min(7, math.ceil((start - min((h for h, _ in tally.codes), default=start)) / day)))
    stats: list[CodeStat] = []
    for code, count in now.items():
        entry = kb.get(code)
        paths = _window(tally.paths, start, end, lambda k, c=code: k[2] if k[1] == c else None)
        places = _window(tally.places, start, end, lambda k, c=code: k[2] if k[1] == c else None)
        paths.pop(None, None)
        places.pop(None, None)
        stats.append(
            CodeStat(
                code=code,
                count=count,
                previous=prev.get(code, 0),
                daily_average=week.get(code, 0) / days_before,
                new=tally.first_seen.get(code, start) >= start,
                title=entry.title if entry else "unknown code",
                meaning=entry.summary.split(". ")[0].rstrip(".") + "." if entry else "",
                first_fix=entry.fixes[0] if entry else "",
                severity=entry.severity if entry else "medium",
                paths=tuple(paths.most_common(3)),
                places=tuple(places.most_common(3)),
            )
        )
    stats.sort(key=lambda s: (-s.count, s.code))
    per_hour: Counter = Counter()
    for (h, _), n in tally.codes.items():
        per_hour[h] += n
    hourly = [per_hour[start + i * HOUR] for i in range(24)]
    requests = sum(_window(tally.requests, start, end).values())
    tally.fold(start, end)
    hist: Counter = Counter()
    for hour, h in tally.service.items():
        if start <= hour < end:
            hist.update(h)
    errors = sum(now.values())
    return AppDigest(
        app=tally.app,
        platform=tally.platform,
        requests=requests,
        errors=errors,
        previous_errors=sum(prev.values()),
        error_rate=(errors / requests) if requests else None,
        p95_ms=percentile(hist, 0.95),
        codes=tuple(stats),
        sparkline=sparkline(hourly),
        polls_expected=tally.polls_expected,
        polls_done=tally.polls_done,
        gaps=tuple(tally.gaps),
        poll_error=tally.poll_error,
    )


def build_digest(tallies: Iterable[Tally], end: datetime, kb: KnowledgeBase | None = None) -> Digest:
    """The digest of every app for the 24 h ending at `end`, most troubled app first."""
    if kb is None:
        from bot.knowledge import KnowledgeBase

        kb = KnowledgeBase.load()
    end = hour_of(end) + (HOUR if end != hour_of(end) else timedelta(0))
    apps = [summarise(t, end, kb) for t in tallies]
    apps.sort(key=lambda a: (-a.trouble, a.app))
    return Digest(start=end - timedelta(days=1), end=end, apps=tuple(apps))


# --- from a log file, fast and in bounded memory ---------------------------------------------------------
#
# A million-line router log has to be read in about a second, which rules out a Python-level loop over
# lines. Heroku logs are in time order, so each chunk is cut into per-hour slices by binary search on
# the timestamps at line starts; inside a slice, C-level byte counts and literal-prefixed regexes do the
# counting. Only the rare runtime and Fly lines go through the reference parser (`logs.parse_line`).
# `tests/test_digest.py` checks this fast path against the reference parser on the same file.

_TS_HOUR = re.compile(rb"\d{4}-\d\d-\d\dT\d\d")
_SERVICE = re.compile(rb"service=(\d{1,7})ms")
# The marks come from the signature table, so "what is a code" has one definition (bot/signatures.py).
_ROUTER_ERROR = signatures.ROUTER_ERROR_BYTES
_RUNTIME_MARK = signatures.RUNTIME_MARK_BYTES
_FLY_MARK = signatures.FLY_MARK_BYTES
_ANY_MARK = signatures.ANY_MARK_BYTES
_QUOTA_MARK = signatures.QUOTA_IDLE_BYTES
_ROUTER = b" heroku[router]: at="
CHUNK = 2 * 1024 * 1024


PARALLEL_MIN_BYTES = 64 * 1024 * 1024


def tally_log_path(
    path: str,
    app: str,
    progress: Callable[[float], None] | None = None,
    workers: int = 0,
    parallel_min_bytes: int = PARALLEL_MIN_BYTES,
) -> Tally:
    """Tally a plain log file; a big one is split at line boundaries and read by one process per core."""
    size = os.path.getsize(path)
    workers = workers or min(os.cpu_count() or 1, 4)
    if workers < 2 or size < parallel_min_bytes:
        with open(path, "rb") as fh:
            return tally_log_file(fh, app, (lambda n: progress(n / size)) if progress else None)
    bounds = [0]
    with open(path, "rb") as fh:
        for i in range(1, workers):
            fh.seek(size * i // workers)
            fh.readline()  # move on to the next line start
            bounds.append(min(fh.tell(), size))
    bounds.append(size)
    ctx = multiprocessing.get_context("fork")
    done = ctx.Array("q", workers)
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(done,)) as pool:
        futures = [pool.submit(_tally_range, path, app, i, bounds[i], bounds[i + 1]) for i in range(workers)]
        while progress and not all(f.done() for f in futures):
            wait(futures, timeout=0.1)
            progress(sum(done[:]) / size)
        parts = [f.result() for f in futures]
    tally = parts[0]
    for part in parts[1:]:
        tally.merge(part)
    return tally


# pragma: no mutate start
# What follows runs only in the worker processes of a parallel read, where mutmut cannot see which tests
# call it; test_parallel_read_equals_single_read checks it against a single read.
_done = None


def _init_worker(done) -> None:
    global _done
    _done = done


def _tally_range(path: str, app: str, index: int, start: int, end: int) -> Tally:
    with open(path, "rb") as fh:
        fh.seek(start)
        stream = io.BufferedReader(_Window(fh, end - start), buffer_size=CHUNK)

        def report(n: int) -> None:
            if _done is not None:
                _done[index] = n

        return tally_log_file(stream, app, report)


class _Window(io.RawIOBase):
    """At most `limit` bytes of a file, from its current position."""

    def __init__(self, fh, limit: int):
        self.fh, self.left = fh, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.left <= 0:
            return 0
        n = self.fh.readinto(memoryview(buffer)[: min(len(buffer), self.left)])
        self.left -= n or 0
        return n or 0


# pragma: no mutate end


def tally_log_file(stream, app: str, progress: Callable[[int], None] | None = None) -> Tally:
    """Read Heroku or Fly.io log text from a binary stream into a Tally, CHUNK bytes at a time."""
    tally = Tally(app=app)
    platforms: Counter = Counter()
    carry = b""
    done = 0
    while True:
        block = stream.read(CHUNK)
        if not block:
            data, carry = carry, b""
        else:
            cut = block.rfind(b"\n")
            if cut == -1:
                carry += block
                continue
            data, carry = carry + block[: cut + 1], block[cut + 1 :]
        if data:
            # A Heroku file whose router lines start with their time (a header or blank line before them
            # changes nothing): counted per hour slice. Anything else goes line by line through the parser.
            if _ROUTER in data[:65536] and _TS_HOUR.match(data, _line_start(data, data.find(_ROUTER))):
                for hour, part in _hour_slices(data):
                    _tally_router_slice(part, hour, tally, logs.parse_line, platforms)
            else:
                _tally_by_parser(data, tally, logs.parse_line, platforms)
            done += len(data)
            if progress:
                progress(done)
        if not block:
            break
    if platforms:
        tally.platform = platforms.most_common(1)[0][0]
    tally.platform_votes = platforms
    return tally


def _line_start(data: bytes, pos: int) -> int:
    return data.rfind(b"\n", 0, pos) + 1


def _hour_slices(data: bytes) -> Iterable[tuple[datetime | None, bytes]]:
    """Cut whole lines into runs that share the hour of their first line (None where there is no timestamp)."""
    start, n = 0, len(data)
    while start < n:
        prefix = data[start : start + 13]
        if not _TS_HOUR.fullmatch(prefix):
            end = data.find(b"\n", start) + 1 or n
            yield None, data[start:end]
            start = end
            continue
        # The last line start whose hour is still `prefix`, by binary search over byte offsets.
        lo, hi = start, n
        if data[_line_start(data, n - 1) :][:13] == prefix:
            lo = n
        while hi - lo > 1 and lo < n:
            mid = (lo + hi) // 2
            ls = _line_start(data, mid)
            if ls <= start or data[ls : ls + 13] == prefix:
                lo = mid
            else:
                hi = mid
        end = n if lo >= n else data.find(b"\n", lo) + 1 or n
        if end <= start:
            end = data.find(b"\n", start) + 1 or n
        yield datetime.strptime(prefix.decode(), "%Y-%m-%dT%H").replace(tzinfo=UTC), data[start:end]
        start = end


def _tally_router_slice(
    part: bytes, hour: datetime | None, tally: Tally, parse_line, platforms: Counter
) -> None:
    if hour is None:
        _tally_by_parser(part, tally, parse_line, platforms)
        return
    requests = part.count(_ROUTER)
    if requests:
        platforms["heroku"] += 1
        tally.requests[hour] += requests
        tally.server_errors[hour] += part.count(b" status=5")
        # Service times counted as raw digits in C; bucketed only for the hours a digest shows (`Tally.fold`).
        tally.raw_service[hour].update(_SERVICE.findall(part))
        for (code, path, dyno), count in Counter(_ROUTER_ERROR.findall(part)).items():
            code = code.decode()
            tally.codes[hour, code] += count
            if path:
                tally.paths[hour, code, normalise_path(path.decode("utf-8", "replace"))] += count
            if dyno:
                tally.places[hour, code, dyno.decode("utf-8", "replace")] += count
            if code not in tally.first_seen or hour < tally.first_seen[code]:
                tally.first_seen[code] = hour
        marks: tuple[re.Pattern[bytes], ...] = (_RUNTIME_MARK, _QUOTA_MARK)  # a Heroku file: no Fly lines
    else:
        marks = (_RUNTIME_MARK, _QUOTA_MARK, _FLY_MARK)
    for mark in marks:
        if mark.search(part):
            _tally_marked(part, mark, tally, parse_line, platforms, routers=False)


def _tally_by_parser(data: bytes, tally: Tally, parse_line, platforms: Counter) -> None:
    """The general path for Fly.io text and anything unsorted: every marked line through the parser."""
    _tally_marked(data, _ANY_MARK, tally, parse_line, platforms, routers=True)
    _tally_marked(data, _QUOTA_MARK, tally, parse_line, platforms, routers=True)


def _tally_marked(
    data: bytes, mark: re.Pattern, tally: Tally, parse_line, platforms: Counter, routers: bool
) -> None:
    last_start = -1
    for m in mark.finditer(data):
        start = _line_start(data, m.start())
        if start == last_start:
            continue
        last_start = start
        end = data.find(b"\n", m.end())
        event = parse_line(data[start : end if end != -1 else len(data)].decode("utf-8", "replace"))
        if event.time is None or (event.kind == "router" and not routers):
            continue
        if event.kind == "router":
            h = hour_of(event.time)
            tally.requests[h] += 1
            if event.status and event.status >= 500:
                tally.server_errors[h] += 1
            if event.service_ms is not None:
                tally.service[h][bucket_of(event.service_ms)] += 1
        if event.code:
            tally.add_event(event.time, event.code, event.path, event.where)
            if event.platform:
                platforms[event.platform] += 1
