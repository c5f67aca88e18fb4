"""A clock for tests: the wall clock moved to another moment, running at the ordinary speed from there.

`ShiftedClock(datetime(2026, 11, 24, 8, 59, 59, tzinfo=UTC))` says "it is 08:59:59 UTC on 24 November"
to the whole bot (the `Store` is built with it, and the scheduler, polling and digests read it) and to
the fake Slack, which stamps messages with it. Time then passes as usual, because APScheduler waits on
the wall clock: a digest due at 09:00 fires one real second later. `set()` jumps to another moment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ShiftedClock:
    def __init__(self, at: datetime):
        self.skew = timedelta(0)
        self.set(at)

    def set(self, at: datetime) -> None:
        """From now on it is `at` (an aware datetime), and time runs on from there."""
        self.skew = at - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.skew
