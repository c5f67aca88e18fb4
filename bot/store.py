"""SQLite storage through sqlite-utils: events, rollups, poll cursors and runs, digests, Slack state.

One `Store` per process, opened on DYNODOC_DB. Schema changes are numbered migrations applied in order
and recorded in `PRAGMA user_version`, so an old database is upgraded in place and a test can check it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="microseconds")


# --- migrations ---------------------------------------------------------------------------------------

def _v1(db: Database) -> None:
    db["events"].create({
        "id": int, "app": str, "platform": str, "time": str, "code": str, "kind": str, "dyno": str,
        "region": str, "path": str, "status": int, "service_ms": int, "line": str, "line_hash": str,
    }, pk="id", not_null={"app", "platform", "time", "code", "line_hash"})
    db["events"].create_index(["line_hash"], unique=True)
    db["events"].create_index(["app", "time"])
    db["rollups"].create({
        "app": str, "hour": str, "requests": int, "errors": int, "status_5xx": int,
        "service_hist": str,  # JSON: service-time histogram buckets, mergeable across polls
        "service_p50": int, "service_p95": int,
    }, pk=("app", "hour"))
    db["cursors"].create({"app": str, "platform": str, "cursor": str, "newest_time": str, "updated": str},
                         pk="app")
    db["poll_runs"].create({
        "id": int, "app": str, "platform": str, "started": str, "finished": str, "lines_read": int,
        "new_events": int, "gap": int, "gap_from": str, "gap_to": str, "error": str,
    }, pk="id")
    db["poll_runs"].create_index(["app", "started"])
    db["seen_events"].create({"event_id": str, "seen_at": str}, pk="event_id")
    db["channel_settings"].create({"channel": str, "autodiagnose": int, "updated_by": str, "updated_at": str},
                                  pk="channel")
    db["digests"].create({
        "channel": str, "day": str, "state": str, "ts": str, "created": str, "posted": str,
    }, pk=("channel", "day"))


MIGRATIONS: list[Callable[[Database], None]] = [_v1]


class Store:
    """The bot's database. Safe to share between threads (one connection, one lock)."""

    def __init__(self, path: Path | str):
        self.path = str(path)
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
        self.db = Database(conn)
        self.lock = threading.RLock()
        if self.path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.migrate()

    @property
    def version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        with self.lock:
            for number, migration in enumerate(MIGRATIONS, 1):
                if self.version >= number:
                    continue
                with self.db.conn:
                    self.db.execute("BEGIN")
                    migration(self.db)
                    self.db.execute(f"PRAGMA user_version = {number}")

    def close(self) -> None:
        self.db.conn.close()

    # --- Slack: seen events (retries) and per-channel settings ---

    def first_sighting(self, event_id: str) -> bool:
        """Record a Slack event id; True the first time it is seen, False for a retry."""
        with self.lock:
            cur = self.db.execute("INSERT OR IGNORE INTO seen_events (event_id, seen_at) VALUES (?, ?)",
                                  [event_id, iso(utcnow())])
            return cur.rowcount == 1

    def set_autodiagnose(self, channel: str, on: bool, user: str = "") -> None:
        with self.lock:
            self.db["channel_settings"].upsert(
                {"channel": channel, "autodiagnose": int(on), "updated_by": user, "updated_at": iso(utcnow())},
                pk="channel")

    def autodiagnose(self, channel: str, default: bool = False) -> bool:
        """Whether the bot answers pastes unprompted in `channel` (a person's setting beats the default)."""
        with self.lock:
            rows = list(self.db.execute("SELECT autodiagnose FROM channel_settings WHERE channel = ?",
                                        [channel]).fetchall())
        return bool(rows[0][0]) if rows else default
