"""Incidents and the alert outbox, kept in the bot's database.

One incident per app and code while it lasts: the first firing opens it and queues its Slack post; later
firings raise its count and queue one update of that post plus one thread reply (pending ones are merged,
so an hour of Slack trouble sends one update, not hundreds). Ack, snooze and mute are stored here too.
The outbox is read in order by `bot.alerting.AlertSender`; a row is `pending` until Slack took it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.store import Db, Store, iso

RECOVERED_AFTER = timedelta(minutes=30)  # quiet this long and an incident is over


@dataclass(frozen=True)
class Incident:
    id: int
    app: str
    code: str
    reason: str  # new | spike | crash-loop | memory | platform
    opened: datetime
    last_seen: datetime
    count: int
    state: str  # open | recovered
    channel: str
    ts: str | None = None
    acked_by: str | None = None
    acked_at: datetime | None = None
    snoozed_until: datetime | None = None
    release: str | None = None  # "v142 by ada@example.com, 3 min before", when one was found

    def snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and now < self.snoozed_until


@dataclass(frozen=True)
class OutboxRow:
    id: int
    incident_id: int
    action: str  # post | update | reply | recovered
    tries: int


_COLUMNS = "id, app, code, reason, opened, last_seen, count, state, channel, ts, acked_by, acked_at, snoozed_until, release"


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _incident(row: Sequence[Any]) -> Incident:
    return Incident(
        row[0],
        row[1],
        row[2],
        row[3],
        datetime.fromisoformat(row[4]),
        datetime.fromisoformat(row[5]),
        row[6],
        row[7],
        row[8],
        row[9],
        row[10],
        _t(row[11]),
        _t(row[12]),
        row[13],
    )


class IncidentBook:
    """Reads and writes incidents, mutes and the outbox through the store's transactions (either engine)."""

    def __init__(self, store: Store):
        self.store = store

    def _one(self, sql: str, params: list[Any]) -> Incident | None:
        rows = self.store.query(f"SELECT {_COLUMNS} FROM incidents WHERE {sql}", params)
        return _incident(rows[0]) if rows else None

    def get(self, incident_id: int) -> Incident | None:
        return self._one("id = ?", [incident_id])

    def current(self, app: str, code: str) -> Incident | None:
        """The app's open incident for `code`, if any."""
        return self._one("app = ? AND code = ? AND state = 'open' ORDER BY id DESC LIMIT 1", [app, code])

    def muted(self, app: str, code: str) -> bool:
        return bool(self.store.query("SELECT 1 FROM alert_mutes WHERE app = ? AND code = ?", [app, code]))

    def fire(
        self,
        app: str,
        code: str,
        reason: str,
        count: int,
        now: datetime,
        channel: str,
        release: str | None = None,
    ) -> Incident | None:
        """Record a firing: open an incident (queueing its post) or add to the open one (queueing an update
        and a reply, unless it is snoozed). Nothing for a muted code. Returns the incident."""
        if self.muted(app, code):
            return None
        with self.store._tx() as db:
            # Open one, unless another instance just did (the partial unique index says so): then add to it.
            opened = db.execute(
                "INSERT INTO incidents (app, code, reason, opened, last_seen, count, state, channel, release) "
                "VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?) "
                "ON CONFLICT (app, code) WHERE state = 'open' DO NOTHING RETURNING id",
                [app, code, reason, iso(now), iso(now), count, channel, release],
            ).fetchone()
            if opened is not None:
                incident_id = opened[0]
                self._queue(db, incident_id, "post", now)
            else:
                row = db.execute(
                    f"SELECT {_COLUMNS} FROM incidents WHERE app = ? AND code = ? AND state = 'open'",
                    [app, code],
                ).fetchone()
                incident = _incident(row)
                incident_id = incident.id
                db.execute(
                    "UPDATE incidents SET count = count + ?, last_seen = ? WHERE id = ?",
                    [count, iso(now), incident_id],
                )
                self._queue(db, incident_id, "update", now)  # the count on the post, even while snoozed
                if not incident.snoozed(now):
                    self._queue(db, incident_id, "reply", now)
        return self.get(incident_id)

    @staticmethod
    def _queue(db: Db, incident_id: int, action: str, now: datetime) -> None:
        """Add an outbox row unless the same action for the incident is already waiting (merged: the
        message is rendered from the incident when it is sent, so one send covers every firing). A row the
        sender has claimed (`sending`) was rendered already, so it absorbs nothing: a click that lands
        while its update is on the wire gets an update of its own."""
        waiting = db.execute(
            "SELECT 1 FROM alert_outbox WHERE incident_id = ? AND action = ? AND state = 'pending'",
            [incident_id, action],
        ).fetchone()
        if waiting is None or action in ("post", "recovered"):
            db.execute(
                "INSERT INTO alert_outbox (incident_id, action, state, created) VALUES (?, ?, 'pending', ?)",
                [incident_id, action, iso(now)],
            )

    def recover_quiet(self, now: datetime) -> list[Incident]:
        """Close the incidents quiet for RECOVERED_AFTER, queueing a "recovered" note on each."""
        with self.store._tx() as db:
            ids = [
                r[0]
                for r in db.execute(
                    "SELECT id FROM incidents WHERE state = 'open' AND last_seen < ?",
                    [iso(now - RECOVERED_AFTER)],
                ).fetchall()
            ]
            for incident_id in ids:
                db.execute("UPDATE incidents SET state = 'recovered' WHERE id = ?", [incident_id])
                self._queue(db, incident_id, "recovered", now)
        return [i for i in map(self.get, ids) if i is not None]

    # --- what people do with the buttons ---

    def ack(self, incident_id: int, user: str, now: datetime) -> Incident | None:
        return self._set(incident_id, "acked_by = ?, acked_at = ?", [user, iso(now)], now)

    def snooze(self, incident_id: int, until: datetime, now: datetime) -> Incident | None:
        return self._set(incident_id, "snoozed_until = ?", [iso(until)], now)

    def mute(self, incident_id: int, user: str, now: datetime) -> Incident | None:
        incident = self.get(incident_id)
        if incident is None:
            return None
        self.store.execute(
            "INSERT INTO alert_mutes (app, code, muted_by, muted_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (app, code) DO UPDATE SET muted_by = excluded.muted_by, muted_at = excluded.muted_at",
            [incident.app, incident.code, user, iso(now)],
        )
        return self._set(incident_id, "state = state", [], now)

    def unmute(self, app: str, code: str) -> None:
        self.store.execute("DELETE FROM alert_mutes WHERE app = ? AND code = ?", [app, code])

    def _set(self, incident_id: int, assignments: str, params: list[Any], now: datetime) -> Incident | None:
        with self.store._tx() as db:
            if db.execute(
                f"UPDATE incidents SET {assignments} WHERE id = ?", [*params, incident_id]
            ).rowcount:
                self._queue(db, incident_id, "update", now)  # the message shows who acked, or the snooze
        return self.get(incident_id)

    # --- the outbox, for the sender ---

    def pending(self, limit: int = 50) -> list[OutboxRow]:
        """Rows to send, oldest first; a row left `sending` by a crash is sent again."""
        rows = self.store.query(
            "SELECT id, incident_id, action, tries FROM alert_outbox WHERE state IN ('pending', 'sending') "
            "ORDER BY id LIMIT ?",
            [limit],
        )
        return [OutboxRow(*r) for r in rows]

    def claim(self, row: OutboxRow) -> None:
        """The sender is about to render and send the row: from now on it takes in no later change."""
        self.store.execute("UPDATE alert_outbox SET state = 'sending' WHERE id = ?", [row.id])

    def outbox(self) -> list[tuple[str, str, str | None]]:
        """Every outbox row as (action, state, error), oldest first: for `dynodoc status` and the tests."""
        return [
            tuple(r) for r in self.store.query("SELECT action, state, error FROM alert_outbox ORDER BY id")
        ]

    def sent(self, row: OutboxRow, now: datetime, ts: str | None = None) -> None:
        """Slack took the row's message; a post's ts is kept on the incident, for updates and replies."""
        with self.store._tx() as db:
            db.execute(
                "UPDATE alert_outbox SET state = 'sent', sent = ?, error = NULL WHERE id = ?",
                [iso(now), row.id],
            )
            if ts is not None and row.action == "post":
                db.execute("UPDATE incidents SET ts = ? WHERE id = ?", [ts, row.incident_id])

    def retry_later(self, row: OutboxRow, error: str) -> None:
        self.store.execute(
            "UPDATE alert_outbox SET state = 'pending', tries = tries + 1, error = ? WHERE id = ?",
            [error[:300], row.id],
        )

    def give_up(self, row: OutboxRow, error: str, now: datetime) -> None:
        """Slack refused the row for good (a deleted channel, a revoked token): kept, with the reason."""
        self.store.execute(
            "UPDATE alert_outbox SET state = 'failed', error = ?, sent = ? WHERE id = ?",
            [error[:300], iso(now), row.id],
        )

    def counts(self, since: datetime, until: datetime) -> dict[str, int]:
        """Incidents opened in [since, until): all, acked, still open — for the digest."""
        [row] = self.store.query(
            "SELECT COUNT(*), COUNT(acked_by), SUM(CASE WHEN state = 'open' THEN 1 ELSE 0 END) "
            "FROM incidents WHERE opened >= ? AND opened < ?",
            [iso(since), iso(until)],
        )
        return {"opened": row[0] or 0, "acked": row[1] or 0, "open": row[2] or 0}
