"""What both platform clients share: the retry policy, reading a failed response, safe error wording.

Every error sentence here is built from the status, the platform's own error id/message and the host,
never from `str(exception)` or a URL: Logplex stream URLs carry a session token in their query string.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Self, TypeVar

import httpx

from bot.redact import redact
from bot.sources.errors import AppNotFound, RateLimited, SourceError, SourceUnavailable, TokenRejected

USER_AGENT = "dynodoc/0.1 (+https://github.com/dyno-doctor)"
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. `base` scales every wait we choose ourselves (tests set it to a few ms)."""

    attempts: int = 4  # tries in all for 5xx, connection errors, timeouts and 429s
    base: float = 1.0  # seconds before the first retry; doubled each time, with jitter
    cap: float = 30.0  # the longest backoff between two tries
    max_wait: float = 60.0  # the longest Retry-After we honour; beyond it the app is left for the next poll
    reserve: int = 5  # Heroku: when RateLimit-Remaining falls to this, slow down before the next call
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half of the step is fixed, half random."""
        step = min(self.cap, self.base * 2.0**attempt)
        return step / 2 + random.uniform(0, step / 2)


class Retry(Exception):  # noqa: N818 - a signal between a try and the retry loop, not an error to show
    """One try failed in a way worth trying again. `wait` is what the server asked for, if anything."""

    def __init__(self, reason: str, *, wait: float | None = None, rate_limited: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.wait = wait
        self.rate_limited = rate_limited


def with_retries(policy: RetryPolicy, platform: str, app: str, attempt: Callable[[], T]) -> T:
    """Call `attempt` until it returns, retrying on `Retry` at most `policy.attempts` times in all."""
    last: Retry | None = None
    for number in range(policy.attempts):
        try:
            return attempt()
        except Retry as exc:
            last = exc
            if exc.wait is not None and exc.wait > policy.max_wait:
                reason = (
                    f"{exc.reason}; asked to wait {exc.wait:.0f} s, longer than {policy.max_wait:.0f} s, "
                    "so this app waits for the next poll"
                )
                if exc.rate_limited:
                    raise RateLimited(platform, app, reason, retry_after=exc.wait) from None
                raise SourceUnavailable(platform, app, reason) from None
            if number + 1 < policy.attempts:
                policy.sleep(exc.wait if exc.wait is not None else policy.backoff(number))
    assert last is not None
    reason = f"{last.reason} (gave up after {policy.attempts} tries)"
    if last.rate_limited:
        raise RateLimited(platform, app, reason, retry_after=last.wait)
    raise SourceUnavailable(platform, app, reason)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    raw = response.headers.get("retry-after", "").strip()
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_detail(response: httpx.Response) -> str:
    """`401 unauthorized: Invalid credentials provided.` from a JSON error body ({"id", "message"} or
    {"error": ...}), or just the status. Bounded and redacted, since it ends up in the database."""
    text = ""
    try:
        body = json.loads(response.read()[:4096] or b"null")
    except (ValueError, httpx.HTTPError):
        body = None
    if isinstance(body, dict):
        ident = body.get("id") if isinstance(body.get("id"), str) else ""
        message = next(
            (body[k] for k in ("message", "error", "error_description") if isinstance(body.get(k), str)), ""
        )
        text = ": ".join(p for p in (ident, message.strip()) if p)
    detail = f"{response.status_code} {text}".strip() if text else f"HTTP {response.status_code}"
    return redact(" ".join(detail.split())[:240]).text


def check(response: httpx.Response, *, platform: str, app: str, name: str, setting: str) -> None:
    """Raise the named error for a failed API response; return quietly for 2xx.

    `name` is the platform as people say it ("Heroku"), `setting` the variable that holds the token.
    """
    status = response.status_code
    if status < 300:
        return
    detail = error_detail(response)
    if status == 401:
        raise TokenRejected(platform, app, f"{name} rejected {setting} ({detail}); check or renew it")
    if status == 403:
        raise TokenRejected(
            platform,
            app,
            f"{setting} may not read the logs of {app} ({detail}); "
            "use a token of an account with access to the app",
        )
    if status == 404:
        raise AppNotFound(platform, app, f"no {name} app named {app} ({detail}); check DYNODOC_APPS")
    if status == 429:
        raise Retry(f"{name} rate limit ({detail})", wait=retry_after(response), rate_limited=True)
    if status >= 500:
        raise Retry(f"{name} API error ({detail})", wait=retry_after(response))
    raise SourceError(platform, app, f"{name} refused the request ({detail})")


def transport_reason(exc: httpx.TransportError, what: str) -> str:
    """Name a network failure without echoing the URL (or anything else from the exception text)."""
    try:
        host = exc.request.url.host
    except RuntimeError:
        host = ""
    where = f" to {host}" if host else ""
    if isinstance(exc, httpx.TimeoutException):
        return f"{what} timed out{where}"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect{where}"
    return f"{what}: the connection{where} broke"


class PlatformClient:
    """What both platform clients share: the base URL, the retry policy, and an httpx client they close
    only if they made it. The repr never shows the token."""

    def __init__(
        self, *, base_url: str, client: httpx.Client | None, timeout: float, policy: RetryPolicy | None
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
