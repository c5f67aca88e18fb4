"""SQLite storage through sqlite-utils: events, rollups, poll cursors and runs, digests, Slack state.

One `Store` per process, opened on DYNODOC_DB. Schema changes are numbered migrations applied in order
and recorded in `PRAGMA user_version`, so an old database is upgraded in place and a test can check it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time as time_
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from bot.clock import Clock, system_clock
from bot.config import ConfigError


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="microseconds")


# --- migrations ---------------------------------------------------------------------------------------


def _v1(db: Database) -> None:
    db["events"].create(
        {
            "id": int,
            "app": str,
            "platform": str,
            "time": str,
            "code": str,
            "kind": str,
            "dyno": str,
            "region": str,
            "path": str,
            "status": int,
            "service_ms": int,
            "line": str,
            "line_hash": str,
        },
        pk="id",
        not_null={"app", "platform", "time", "code", "line_hash"},
    )
    db["events"].create_index(["line_hash"], unique=True)
    db["events"].create_index(["app", "time"])
    db["rollups"].create(
        {
            "app": str,
            "hour": str,
            "requests": int,
            "errors": int,
            "status_5xx": int,
            "service_hist": str,  # JSON: service-time histogram buckets, mergeable across polls
            "service_p50": int,
            "service_p95": int,
        },
        pk=("app", "hour"),
    )
    db["cursors"].create(
        {"app": str, "platform": str, "cursor": str, "newest_time": str, "updated": str}, pk="app"
    )
    db["poll_runs"].create(
        {
            "id": int,
            "app": str,
            "platform": str,
            "started": str,
            "finished": str,
            "lines_read": int,
            "new_events": int,
            "gap": int,
            "gap_from": str,
            "gap_to": str,
            "error": str,
        },
        pk="id",
    )
    db["poll_runs"].create_index(["app", "started"])
    db["seen_events"].create({"event_id": str, "seen_at": str}, pk="event_id")
    db["channel_settings"].create(
        {"channel": str, "autodiagnose": int, "updated_by": str, "updated_at": str}, pk="channel"
    )
    db["digests"].create(
        {
            "channel": str,
            "day": str,
            "state": str,
            "ts": str,
            "created": str,
            "posted": str,
        },
        pk=("channel", "day"),
    )


def _v2(db: Database) -> None:
    """Polling: what each run found (outcome, codes, a note such as "Fir app: no history"), and the hashes
    of lines already counted, so overlapping polls never count an info line twice in the rollups."""
    db.execute("ALTER TABLE poll_runs ADD COLUMN outcome TEXT")  # ok | partial | failed | skipped
    db.execute("ALTER TABLE poll_runs ADD COLUMN codes TEXT")  # JSON {"H12": 3, ...} of the new events
    db.execute("ALTER TABLE poll_runs ADD COLUMN note TEXT")
    db.execute(
        "CREATE TABLE seen_lines (app TEXT NOT NULL, line_hash TEXT NOT NULL, time TEXT NOT NULL, "
        "PRIMARY KEY (app, line_hash)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX idx_seen_lines_app_time ON seen_lines (app, time)")


def _v3(db: Database) -> None:
    """Cards and feedback: what a card's Show more expands to (kept a few days), and 👍/👎 filed under the
    question's or paste's fingerprint, a hash: the text itself is never stored. One vote per person and
    fingerprint (a second click changes it). Plain SQL that SQLite and PostgreSQL both accept."""
    db.execute(
        "CREATE TABLE cards (id TEXT PRIMARY KEY, kind TEXT NOT NULL, fingerprint TEXT NOT NULL, "
        "label TEXT NOT NULL, card TEXT NOT NULL, details TEXT NOT NULL, created TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX idx_cards_created ON cards (created)")
    db.execute(
        "CREATE TABLE feedback (fingerprint TEXT NOT NULL, user_id TEXT NOT NULL, kind TEXT NOT NULL, "
        "label TEXT NOT NULL, vote INTEGER NOT NULL, created TEXT NOT NULL, PRIMARY KEY (fingerprint, user_id))"
    )


def _v4(db: Database) -> None:
    """Alerts: one incident per app and code while it lasts (who acked it, until when it is snoozed), codes
    muted per app, and the outbox of Slack messages still to send, delivered in order and once."""
    db.execute(
        "CREATE TABLE incidents (id INTEGER PRIMARY KEY, app TEXT NOT NULL, code TEXT NOT NULL, "
        "reason TEXT NOT NULL, opened TEXT NOT NULL, last_seen TEXT NOT NULL, count INTEGER NOT NULL, "
        "state TEXT NOT NULL, channel TEXT NOT NULL, ts TEXT, acked_by TEXT, acked_at TEXT, "
        "snoozed_until TEXT, release TEXT)"
    )
    db.execute("CREATE INDEX idx_incidents_app_code_state ON incidents (app, code, state)")
    db.execute(
        "CREATE TABLE alert_mutes (app TEXT NOT NULL, code TEXT NOT NULL, muted_by TEXT, muted_at TEXT, "
        "PRIMARY KEY (app, code))"
    )
    db.execute(
        "CREATE TABLE alert_outbox (id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL, action TEXT NOT NULL, "
        "state TEXT NOT NULL, created TEXT NOT NULL, sent TEXT, error TEXT, tries INTEGER NOT NULL DEFAULT 0)"
    )
    db.execute("CREATE INDEX idx_alert_outbox_state ON alert_outbox (state, id)")


MIGRATIONS: list[Callable[[Database], None]] = [_v1, _v2, _v3, _v4]


# --- polling records (bot/poll.py writes them; digests and `dynodoc status` read them) -----------------


@dataclass(frozen=True)
class LineRecord:
    """One fetched log line, ready to store: its coded event (if any) and its share of the rollups."""

    line_hash: str  # stable per app and line: overlapping polls are recognised by it
    time: datetime
    line: str  # redacted
    code: str | None = None
    kind: str = "other"
    dyno: str | None = None
    region: str | None = None
    path: str | None = None  # normalised (`/users/{id}`), no query string
    status: int | None = None
    service_ms: int | None = None
    request: bool = False  # a router line: one request in the rollups


@dataclass(frozen=True)
class Saved:
    """What one `save_lines` call added."""

    new_lines: int = 0
    new_events: int = 0
    codes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Cursor:
    app: str
    platform: str
    cursor: str  # Fly.io: the next_token to ask with; Heroku: empty
    newest_time: datetime | None  # the newest line stored, for gap detection


@dataclass(frozen=True)
class PollRun:
    """One poll of one app, as `poll_runs` keeps it."""

    app: str
    platform: str
    started: datetime
    finished: datetime
    outcome: str = "ok"  # ok | partial (some lines kept, then an error) | failed | skipped
    lines_read: int = 0
    new_events: int = 0
    codes: tuple[tuple[str, int], ...] = ()
    gap_from: datetime | None = None
    gap_to: datetime | None = None
    error: str | None = None
    note: str | None = None

    @property
    def gap(self) -> bool:
        return self.gap_from is not None


@dataclass(frozen=True)
class PollHealth:
    """An app's polling health for `dynodoc status`."""

    app: str
    last: PollRun | None
    last_ok: datetime | None  # the last run that read the logs (ok or partial)
    failures_in_a_row: int  # failed or skipped runs since the last good one
    gaps_24h: int
    events_24h: int
    newest_time: datetime | None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _hour(t: datetime) -> str:
    return iso(t.astimezone(UTC).replace(minute=0, second=0, microsecond=0))


@dataclass(frozen=True)
class StoredCard:
    """A card as posted (its blocks as JSON) and the messages Show more expands it to."""

    id: str
    kind: str  # question | paste
    fingerprint: str
    label: str
    card: dict  # {"text", "blocks"}
    details: list[dict]  # [{"text", "blocks"}, ...]
    created: datetime


@dataclass(frozen=True)
class Disliked:
    """An answer people voted down more than up: what was answered, and under which fingerprint."""

    kind: str
    fingerprint: str
    label: str
    down: int
    up: int


@dataclass(frozen=True)
class FeedbackTally:
    """👍 and 👎 counted for `dynodoc status` and the App Home, with the answers disliked most."""

    up: int = 0
    down: int = 0
    disliked: tuple[Disliked, ...] = ()


class StoreError(ConfigError):
    """The database cannot be opened or written: one line that says which and what to do."""


def explain(exc: Exception, path: str) -> StoreError:
    """An sqlite3 or OS error on `path` as one line with the fix."""
    text = str(exc).lower()
    where = Path(path)
    if where.is_dir():
        why = "is a directory; point DYNODOC_DB at a file inside it, e.g. DYNODOC_DB=" + str(
            where / "dynodoc.db"
        )
    elif not where.parent.exists():
        why = f"is in a folder that does not exist ({where.parent}); create it or point DYNODOC_DB elsewhere"
    elif "not a database" in text or "malformed" in text:
        why = "is not an SQLite database or is damaged; move it aside and the bot starts a new one"
    elif "readonly" in text or "read-only" in text or isinstance(exc, PermissionError):
        why = "cannot be written (a read-only file or file system); point DYNODOC_DB at a writable place"
    elif "full" in text:
        why = "cannot be written: the disk is full; free some space"
    elif "locked" in text or "busy" in text:
        why = "is locked by another process for too long; is a second copy of the bot running?"
    else:
        why = f"cannot be used ({type(exc).__name__}: {exc})"
    return StoreError(f"the database DYNODOC_DB={path} {why}")


class Store:
    """The bot's database. Safe to share between threads (one connection, one lock).

    `clock` is the bot's clock (`bot.clock`): the store stamps its rows with it, and the scheduler, polling
    and digests working on this store read the time from it too."""

    def __init__(self, path: Path | str, clock: Clock = system_clock):
        self.path = str(path)
        self.clock = clock
        self.write_error: str | None = None  # the last failed write, for the health check
        self._probed = 0.0
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
            self.db = Database(conn)
            self.lock = threading.RLock()
            if self.path != ":memory:":
                self._retry_locked(lambda: self.db.execute("PRAGMA journal_mode=WAL"))
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._retry_locked(self.migrate)
        except (sqlite3.Error, OSError) as exc:
            raise explain(exc, self.path) from None

    @staticmethod
    def _retry_locked(step, tries: int = 100) -> None:
        """Run a start-up step, waiting out SQLite's immediate "database is locked": switching to WAL and
        the first migration need the whole file, and several processes may start on it at once."""
        for attempt in range(tries):
            try:
                step()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == tries - 1:
                    raise
                time_.sleep(0.05)

    def healthy(self, every: float = 5.0) -> str | None:
        """None when the database can be written, else one line saying why. Probes at most every `every`
        seconds (a health check may be hit many times a second)."""
        now = time_.monotonic()
        if now - self._probed >= every:
            self._probed = now
            try:
                with self.lock, self.db.conn:
                    self.db.execute("BEGIN IMMEDIATE")
                    self.db.execute("CREATE TABLE IF NOT EXISTS health (id INTEGER PRIMARY KEY, at TEXT)")
                    self.db.execute(
                        "INSERT OR REPLACE INTO health (id, at) VALUES (1, ?)", [iso(self.clock())]
                    )
                self.write_error = None
            except (sqlite3.Error, OSError) as exc:
                self.write_error = str(explain(exc, self.path))
        return self.write_error

    @property
    def version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        with self.lock:
            for number, migration in enumerate(MIGRATIONS, 1):
                if self.version >= number:
                    continue
                with self.db.conn:
                    # The write lock first: two processes starting on a new file at once must not both
                    # run the same migration (a deferred BEGIN lets both read the old version).
                    self.db.execute("BEGIN IMMEDIATE")
                    if self.version >= number:
                        continue
                    migration(self.db)
                    self.db.execute(f"PRAGMA user_version = {number}")

    def close(self) -> None:
        self.db.conn.close()

    # --- polling: events, rollups, cursors, poll runs, retention (used by bot/poll.py) ---

    def save_lines(
        self,
        app: str,
        platform: str,
        records: Iterable[LineRecord],
        *,
        cursor: str | None = None,
        keep_after: datetime | None = None,
        forget_seen_before: datetime | None = None,
    ) -> Saved:
        """Store one batch of fetched lines in ONE transaction: lines not seen before count into the
        hourly rollups, those with a code become events, and the cursor (`cursor` if given, and the newest
        line time) moves with them, so a crash neither loses nor doubles anything.

        `keep_after` skips lines older than retention; `forget_seen_before` drops line hashes that the
        platform can no longer send again (older than the oldest line of this fetch, less a margin).
        """
        from bot.digest import bucket_of, percentile  # the digest's histogram, so rollups merge with it

        new_lines = new_events = 0
        codes: Counter[str] = Counter()
        hours: dict[str, list] = {}  # hour -> [requests, errors, 5xx, Counter(bucket -> n)]
        newest: datetime | None = None
        with self.lock, self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            for r in records:
                if keep_after is not None and r.time < keep_after:
                    continue
                newest = r.time if newest is None or r.time > newest else newest
                time = iso(r.time)
                if (
                    self.db.execute(
                        "INSERT OR IGNORE INTO seen_lines (app, line_hash, time) VALUES (?, ?, ?)",
                        [app, r.line_hash, time],
                    ).rowcount
                    == 0
                ):
                    continue
                new_lines += 1
                tally = hours.setdefault(_hour(r.time), [0, 0, 0, Counter()])
                tally[0] += r.request
                tally[1] += bool(r.code)
                tally[2] += r.status is not None and r.status >= 500
                if r.request and r.service_ms is not None:
                    tally[3][bucket_of(r.service_ms)] += 1
                if r.code:
                    added = self.db.execute(
                        "INSERT OR IGNORE INTO events (app, platform, time, code, kind, dyno, region, path, status,"
                        " service_ms, line, line_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            app,
                            platform,
                            time,
                            r.code,
                            r.kind,
                            r.dyno,
                            r.region,
                            r.path,
                            r.status,
                            r.service_ms,
                            r.line,
                            r.line_hash,
                        ],
                    ).rowcount
                    new_events += added
                    codes[r.code] += added
            for hour, (requests, errors, server_errors, hist) in hours.items():
                row = self.db.execute(
                    "SELECT requests, errors, status_5xx, service_hist FROM rollups "
                    "WHERE app = ? AND hour = ?",
                    [app, hour],
                ).fetchone()
                if row:
                    requests, errors, server_errors = (
                        requests + row[0],
                        errors + row[1],
                        server_errors + row[2],
                    )
                    hist.update({int(k): v for k, v in json.loads(row[3] or "{}").items()})
                self.db.execute(
                    "INSERT OR REPLACE INTO rollups (app, hour, requests, errors, status_5xx, service_hist,"
                    " service_p50, service_p95) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        app,
                        hour,
                        requests,
                        errors,
                        server_errors,
                        json.dumps({str(k): hist[k] for k in sorted(hist)}),
                        percentile(hist, 0.5),
                        percentile(hist, 0.95),
                    ],
                )
            old = self.cursor(app)
            if old and old.newest_time and (newest is None or old.newest_time > newest):
                newest = old.newest_time
            self.db.execute(
                "INSERT OR REPLACE INTO cursors (app, platform, cursor, newest_time, updated) VALUES (?, ?, ?, ?, ?)",
                [
                    app,
                    platform,
                    cursor if cursor is not None else (old.cursor if old else ""),
                    iso(newest) if newest else None,
                    iso(self.clock()),
                ],
            )
            if forget_seen_before is not None:
                self.db.execute(
                    "DELETE FROM seen_lines WHERE app = ? AND time < ?", [app, iso(forget_seen_before)]
                )
        return Saved(new_lines, new_events, {k: n for k, n in codes.most_common() if n})

    def known_lines(self, app: str, hashes: Iterable[str]) -> set[str]:
        """The line hashes of `app` already stored: those lines need no parsing or redaction again."""
        hashes = list(hashes)
        known: set[str] = set()
        with self.lock:
            for i in range(0, len(hashes), 500):
                chunk = hashes[i : i + 500]
                rows = self.db.execute(
                    f"SELECT line_hash FROM seen_lines WHERE app = ? AND line_hash IN ({','.join('?' * len(chunk))})",
                    [app, *chunk],
                ).fetchall()
                known.update(r[0] for r in rows)
        return known

    def cursor(self, app: str) -> Cursor | None:
        """Where polling of `app` stands: the Fly.io next_token and the newest line stored."""
        with self.lock:
            row = self.db.execute(
                "SELECT app, platform, cursor, newest_time FROM cursors WHERE app = ?", [app]
            ).fetchone()
        if not row:
            return None
        return Cursor(row[0], row[1], row[2] or "", _time(row[3]))

    def record_run(self, run: PollRun) -> None:
        with self.lock:
            self.db.execute(
                "INSERT INTO poll_runs (app, platform, started, finished, lines_read, new_events, gap, gap_from,"
                " gap_to, error, outcome, codes, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run.app,
                    run.platform,
                    iso(run.started),
                    iso(run.finished),
                    run.lines_read,
                    run.new_events,
                    int(run.gap),
                    iso(run.gap_from) if run.gap_from else None,
                    iso(run.gap_to) if run.gap_to else None,
                    run.error,
                    run.outcome,
                    json.dumps(dict(run.codes)),
                    run.note,
                ],
            )

    def poll_runs(self, app: str, limit: int = 20) -> list[PollRun]:
        """The newest runs of `app`, newest first."""
        with self.lock:
            rows = self.db.execute(
                "SELECT app, platform, started, finished, outcome, lines_read, new_events, codes, gap_from, gap_to,"
                " error, note FROM poll_runs WHERE app = ? ORDER BY started DESC, id DESC LIMIT ?",
                [app, limit],
            ).fetchall()
        return [
            PollRun(
                r[0],
                r[1],
                _time(r[2]),
                _time(r[3]),
                r[4] or ("failed" if r[10] else "ok"),
                r[5] or 0,
                r[6] or 0,
                tuple(json.loads(r[7] or "{}").items()),
                _time(r[8]),
                _time(r[9]),
                r[10],
                r[11],
            )
            for r in rows
        ]

    def poll_health(self, app: str) -> PollHealth:
        """The last poll of `app`, how many failed in a row, and its gaps and events of the last 24 h."""
        now = self.clock()
        day_ago = iso(now - timedelta(hours=24))
        runs = self.poll_runs(app, limit=200)
        failures = 0
        for run in runs:
            if run.outcome not in ("failed", "skipped"):
                break
            failures += 1
        last_ok = next((r.finished for r in runs if r.outcome in ("ok", "partial")), None)
        with self.lock:
            gaps = self.db.execute(
                "SELECT COUNT(*) FROM poll_runs WHERE app = ? AND gap = 1 AND started >= ?", [app, day_ago]
            ).fetchone()[0]
            events = self.db.execute(
                "SELECT COUNT(*) FROM events WHERE app = ? AND time >= ?", [app, day_ago]
            ).fetchone()[0]
        cursor = self.cursor(app)
        return PollHealth(
            app,
            runs[0] if runs else None,
            last_ok,
            failures,
            gaps,
            events,
            cursor.newest_time if cursor else None,
        )

    def enforce_retention(self, days: int) -> dict[str, int]:
        """Delete events, rollups, poll runs and line hashes older than `days`; returns rows deleted."""
        cutoff = self.clock() - timedelta(days=days)
        deleted = {}
        with self.lock, self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            for table, column, value in (
                ("events", "time", iso(cutoff)),
                ("rollups", "hour", _hour(cutoff)),
                ("poll_runs", "started", iso(cutoff)),
                ("seen_lines", "time", iso(cutoff)),
            ):
                deleted[table] = self.db.execute(f"DELETE FROM {table} WHERE {column} < ?", [value]).rowcount
        return deleted

    def count_events(self, app: str, code: str, since: datetime, until: datetime) -> int:
        """How many `code` events `app` had in [since, until): alerts compare a window with its baseline."""
        with self.lock:
            return self.db.execute(
                "SELECT COUNT(*) FROM events WHERE app = ? AND time >= ? AND time < ? AND code = ?",
                [app, iso(since), iso(until), code],
            ).fetchone()[0]

    # --- Slack: seen events (retries) and per-channel settings ---

    def first_sighting(self, event_id: str) -> bool:
        """Record a Slack event id; True the first time it is seen, False for a retry."""
        with self.lock:
            cur = self.db.execute(
                "INSERT OR IGNORE INTO seen_events (event_id, seen_at) VALUES (?, ?)",
                [event_id, iso(self.clock())],
            )
            return cur.rowcount == 1

    def set_autodiagnose(self, channel: str, on: bool, user: str = "") -> None:
        with self.lock:
            self.db["channel_settings"].upsert(
                {
                    "channel": channel,
                    "autodiagnose": int(on),
                    "updated_by": user,
                    "updated_at": iso(self.clock()),
                },
                pk="channel",
            )

    def autodiagnose(self, channel: str, default: bool = False) -> bool:
        """Whether the bot answers pastes unprompted in `channel` (a person's setting beats the default)."""
        with self.lock:
            rows = list(
                self.db.execute(
                    "SELECT autodiagnose FROM channel_settings WHERE channel = ?", [channel]
                ).fetchall()
            )
        return bool(rows[0][0]) if rows else default

    # --- Slack: the last digest for `/dynodoc status` and the App Home; pruning seen events ---

    def last_digest(self) -> dict | None:
        """The most recent digest row (posted or not) as {column: value}, or None."""
        with self.lock:
            cur = self.db.execute(
                "SELECT * FROM digests ORDER BY COALESCE(posted, created, day) DESC LIMIT 1"
            )
            row = cur.fetchone()
            return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None

    def forget_seen_events(self, before: datetime) -> int:
        """Drop seen Slack event ids recorded before `before` (Slack stops retrying after minutes)."""
        with self.lock:
            return self.db.execute("DELETE FROM seen_events WHERE seen_at < ?", [iso(before)]).rowcount

    # --- digests: what a digest reads, and the exactly-once record of posting it ---

    def digest_tally(self, app: str, platform: str, since: datetime, until: datetime, poll_minutes: int = 5):
        """Everything `bot.digest` needs about one app between `since` and `until`, as a Tally."""
        from bot.digest import Tally

        tally = Tally(app=app, platform=platform)
        a, b = iso(since), iso(until)
        with self.lock:
            # Counted in SQL per hour, code, path and dyno: a busy app has thousands of events a day.
            rows = self.db.execute(
                "SELECT substr(time, 1, 13), code, path, dyno, COUNT(*) FROM events "
                "WHERE app = ? AND time >= ? AND time < ? GROUP BY 1, 2, 3, 4",
                [app, a, b],
            ).fetchall()
            firsts = self.db.execute(
                "SELECT code, MIN(time) FROM events WHERE app = ? GROUP BY code", [app]
            ).fetchall()
            rollups = self.db.execute(
                "SELECT hour, requests, status_5xx, service_hist FROM rollups "
                "WHERE app = ? AND hour >= ? AND hour < ?",
                [app, _hour(since), b],
            ).fetchall()
            runs = self.db.execute(
                "SELECT started, outcome, gap_from, gap_to, error FROM poll_runs "
                "WHERE app = ? AND started >= ? AND started < ? ORDER BY started",
                [app, iso(until - timedelta(days=1)), b],
            ).fetchall()
            first_run = self.db.execute("SELECT MIN(started) FROM poll_runs WHERE app = ?", [app]).fetchone()[
                0
            ]
        for hour, code, path, dyno, n in rows:
            tally.add_event(datetime.fromisoformat(hour + ":00:00+00:00"), code, path, dyno, count=n)
        for code, first in firsts:
            tally.first_seen[code] = datetime.fromisoformat(first)
        for hour, requests, server_errors, hist in rollups:
            h = datetime.fromisoformat(hour)
            tally.requests[h] += requests or 0
            tally.server_errors[h] += server_errors or 0
            tally.service[h].update({int(k): v for k, v in json.loads(hist or "{}").items()})
        # Coverage of the last 24 h: how many polls ran against how many the schedule called for.
        tally.polls_done = sum(1 for r in runs if r[1] in ("ok", "partial", None))
        if first_run:
            watched_since = max(until - timedelta(days=1), datetime.fromisoformat(first_run))
            span_end = min(until, self.clock())  # a window may end in the hour under way
            expected = round((span_end - watched_since).total_seconds() / 60 / poll_minutes) + 1
            tally.polls_expected = max(expected, tally.polls_done, len(runs))
        tally.gaps = [
            (datetime.fromisoformat(r[2]), datetime.fromisoformat(r[3] or r[2])) for r in runs if r[2]
        ]
        if runs and runs[-1][1] == "failed":
            tally.poll_error = runs[-1][4] or "the last poll failed"
        return tally

    def digest_record(self, channel: str, day: str) -> dict | None:
        with self.lock:
            cur = self.db.execute("SELECT * FROM digests WHERE channel = ? AND day = ?", [channel, day])
            row = cur.fetchone()
            return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None

    def claim_digest(self, channel: str, day: str) -> bool:
        """Record the intent to post `day`'s digest to `channel`; False if someone already did."""
        with self.lock:
            return (
                self.db.execute(
                    "INSERT OR IGNORE INTO digests (channel, day, state, created) VALUES (?, ?, ?, ?)",
                    [channel, day, "intent", iso(self.clock())],
                ).rowcount
                == 1
            )

    def forget_digest_claim(self, channel: str, day: str) -> None:
        """Drop an intent that did not lead to a post (Slack refused it), so a later run may post."""
        with self.lock:
            self.db.execute(
                "DELETE FROM digests WHERE channel = ? AND day = ? AND state = 'intent'", [channel, day]
            )

    def mark_digest_posted(self, channel: str, day: str, ts: str) -> None:
        with self.lock:
            self.db.execute(
                "UPDATE digests SET state = 'posted', ts = ?, posted = ? WHERE channel = ? AND day = ?",
                [ts, iso(self.clock()), channel, day],
            )

    # --- cards and feedback (bot/slack/cards.py writes them; status and the App Home count them) ---

    def save_card(self, card: StoredCard) -> None:
        with self.lock:
            self.db.execute(
                "INSERT INTO cards (id, kind, fingerprint, label, card, details, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    card.id,
                    card.kind,
                    card.fingerprint,
                    card.label,
                    json.dumps(card.card),
                    json.dumps(card.details),
                    iso(card.created),
                ],
            )

    def card(self, card_id: str) -> StoredCard | None:
        """A card kept by `save_card`, or None once it is forgotten (or never was)."""
        with self.lock:
            row = self.db.execute(
                "SELECT id, kind, fingerprint, label, card, details, created FROM cards WHERE id = ?",
                [card_id],
            ).fetchone()
        if not row:
            return None
        return StoredCard(
            row[0], row[1], row[2], row[3], json.loads(row[4]), json.loads(row[5]), _time(row[6])
        )

    def forget_cards(self, before: datetime) -> int:
        """Drop cards kept since before `before`; their Show more then says the details are gone."""
        with self.lock:
            return self.db.execute("DELETE FROM cards WHERE created < ?", [iso(before)]).rowcount

    def record_vote(self, fingerprint: str, user: str, kind: str, label: str, vote: int) -> None:
        """File a 👍 (vote 1) or 👎 (vote -1) from `user`; their earlier vote on the same fingerprint is replaced."""
        with self.lock:
            self.db.execute(
                "INSERT INTO feedback (fingerprint, user_id, kind, label, vote, created) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (fingerprint, user_id) DO UPDATE SET "
                "kind = excluded.kind, label = excluded.label, vote = excluded.vote, created = excluded.created",
                [fingerprint, user, kind, label, 1 if vote > 0 else -1, iso(self.clock())],
            )

    def feedback_tally(self, worst: int = 3) -> FeedbackTally:
        """All votes counted, and the `worst` answers with more 👎 than 👍 (most 👎 first)."""
        with self.lock:
            up, down = self.db.execute(
                "SELECT COALESCE(SUM(CASE WHEN vote > 0 THEN 1 ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN vote < 0 THEN 1 ELSE 0 END), 0) FROM feedback"
            ).fetchone()
        return FeedbackTally(int(up), int(down), tuple(self.disliked(worst)))

    def disliked(self, limit: int = 100) -> list[Disliked]:
        """Answers voted down more than up, most 👎 first: the questions and pastes to look at again."""
        with self.lock:
            rows = self.db.execute(
                "SELECT kind, fingerprint, MAX(label), SUM(CASE WHEN vote < 0 THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN vote > 0 THEN 1 ELSE 0 END) FROM feedback GROUP BY kind, fingerprint "
                "HAVING SUM(vote) < 0 ORDER BY 4 DESC, 3 LIMIT ?",
                [limit],
            ).fetchall()
        return [Disliked(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows]
