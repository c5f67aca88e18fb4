"""Named errors of the platform log sources, each carrying what a person needs to fix it (never a token)."""

from __future__ import annotations


class SourceError(Exception):
    """A log source could not be read. `reason` is one line, safe to store and show."""

    def __init__(self, platform: str, app: str, reason: str):
        super().__init__(reason)
        self.platform = platform
        self.app = app
        self.reason = reason


class TokenRejected(SourceError):
    """401/403: the API key or token is wrong, expired, or lacks access to this app."""


class AppNotFound(SourceError):
    """404: no such app, or the token's account cannot see it."""


class RateLimited(SourceError):
    """429 (or the rate-limit pool ran dry) and the wait asked for is longer than we are willing to wait."""

    def __init__(self, platform: str, app: str, reason: str, retry_after: float | None = None):
        super().__init__(platform, app, reason)
        self.retry_after = retry_after


class SourceUnavailable(SourceError):
    """5xx, connection errors or timeouts that outlasted the bounded retries."""
