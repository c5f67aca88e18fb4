"""The bot's one clock: what time it is for the scheduler, polling, digests and the store.

`dynodoc serve` (and every other command) builds the `Store` with a clock, `system_clock` unless told
otherwise, and everything that works on the store asks `store.clock()`: the scheduler's jobs, polling,
the digest's due day and window, the rows the store stamps. So one argument sets the time for the whole
bot, and a test can say "it is 08:45 UTC" once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def __call__(self) -> datetime:
        """The time now, timezone-aware."""
        ...


def system_clock() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)
