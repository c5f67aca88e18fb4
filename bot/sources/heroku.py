"""Heroku Platform API client: open a log session and read its Logplex stream to the end.

`HerokuLogs.fetch(app)` asks for the last `lines` lines (`POST /apps/{app}/log-sessions`, tail false) and
reads the returned `logplex_url`. The stream comes in one of two shapes, chosen by its Content-Type:
Server-Sent Events (`text/event-stream`; one event may carry several `data:` lines) or plain chunked
text, one log line per line (older URLs with a `srv` parameter). A stream that breaks midway keeps what
it read: the session is opened again (the history overlaps, the store drops what it already has) until
the retries run out, and then the lines read so far are returned with the reason.

The API key goes only to the Platform API, never to the Logplex host (its URL carries its own token).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from bot.sources._http import (
    USER_AGENT,
    PlatformClient,
    Retry,
    RetryPolicy,
    check,
    error_detail,
    transport_reason,
    with_retries,
)
from bot.sources.errors import SourceError

DEFAULT_URL = "https://api.heroku.com"
HISTORY_LINES = 1500  # Logplex keeps the last 1,500 lines of an app; a session cannot return more.


@dataclass(frozen=True)
class Fetched:
    """The lines one poll read, oldest first, without repeats."""

    lines: tuple[str, ...]
    complete: bool = True
    problem: str | None = None  # why reading stopped early; the lines read before it are kept


def text_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Whole lines from a byte stream. A last line without its newline is only given if the stream
    ended cleanly: when the connection breaks, the iteration raises before it is reached."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        if b"\n" not in chunk:
            continue
        *complete, buffer = buffer.split(b"\n")
        for raw in complete:
            yield raw.rstrip(b"\r").decode("utf-8", "replace")
    if buffer.strip():
        yield buffer.rstrip(b"\r").decode("utf-8", "replace")


def sse_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Log lines from a Server-Sent Events stream: every `data:` field is one log line, whichever event
    it belongs to (an event with several lines sends several `data:` fields). Comments (`:`), `id:`,
    `event:` and `retry:` fields are skipped."""
    for line in text_lines(chunks):
        if line.startswith("data:"):
            value = line[5:]
            yield value[1:] if value.startswith(" ") else value


class HerokuLogs(PlatformClient):
    """Reads an app's recent log lines through the Heroku Platform API.

    `client` may be given (tests, shared pools); it must not carry the API key as a default header,
    since the same client fetches the Logplex URL.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_URL,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
        policy: RetryPolicy | None = None,
        lines: int = HISTORY_LINES,
    ):
        if not api_key:
            raise ValueError("HerokuLogs needs an API key")
        super().__init__(base_url=base_url, client=client, timeout=timeout, policy=policy)
        self._api_key = api_key
        self.lines = lines
        self.remaining: int | None = None  # the last RateLimit-Remaining seen

    # --- the Platform API ---

    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/vnd.heroku+json; version=3",
            "Authorization": f"Bearer {self._api_key}",
            "User-Agent": USER_AGENT,
        }

    def _api(
        self,
        method: str,
        app: str,
        path: str,
        what: str,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One Platform API call: waits if the rate-limit pool is nearly empty, raises named errors."""
        if self.remaining is not None and self.remaining <= self.policy.reserve:
            # The pool refills at about 75 tokens a minute; wait roughly one refill per missing token.
            self.policy.sleep(self.policy.base * (self.policy.reserve + 1 - self.remaining))
            self.remaining = None
        try:
            response = self.client.request(
                method,
                f"{self.base_url}/apps/{quote(app, safe='')}{path}",
                headers={**self._headers(), **(headers or {})},
                timeout=self.timeout,
                **kwargs,
            )
        except httpx.TransportError as exc:
            raise Retry(transport_reason(exc, what)) from None
        raw = response.headers.get("ratelimit-remaining", "").strip()
        if raw.isdigit():
            self.remaining = int(raw)
        check(response, platform="heroku", app=app, name="Heroku", setting="HEROKU_API_KEY")
        return response

    def open_session(
        self, app: str, *, tail: bool = False, dyno: str | None = None, source: str | None = None
    ) -> str:
        """`POST /apps/{app}/log-sessions`; returns the `logplex_url` to read (one try, raises `Retry`)."""
        body: dict[str, object] = {"lines": self.lines, "tail": tail}
        if dyno:
            body["dyno"] = dyno
        if source:
            body["source"] = source
        response = self._api("POST", app, "/log-sessions", "opening a log session", json=body)
        try:
            url = response.json()["logplex_url"]
        except (ValueError, KeyError, TypeError):
            raise Retry("Heroku answered the log-session request without a logplex_url") from None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise Retry("Heroku answered the log-session request with an unusable logplex_url")
        return url

    def generation(self, app: str) -> str | None:
        """The app's generation ("cedar" or "fir") from `GET /apps/{app}`, or None if it cannot be told.
        Best effort: it only explains an empty poll, so it never fails one."""
        try:
            data = self._api("GET", app, "", "reading the app").json()
        except (Retry, SourceError, ValueError):
            return None
        gen = data.get("generation") if isinstance(data, dict) else None
        name = gen.get("name") if isinstance(gen, dict) else gen
        return name.lower() if isinstance(name, str) else None

    def releases(self, app: str, limit: int = 5) -> list[dict[str, Any]]:
        """The app's newest releases, newest first (`GET /apps/{app}/releases`, ranged by version). One try:
        it only adds "started after v142" to an alert, so a failure raises and the alert goes without."""
        response = self._api(
            "GET",
            app,
            "/releases",
            "reading releases",
            headers={"Range": f"version ..; order=desc, max={limit}"},
        )
        data = response.json()
        return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []

    # --- the Logplex stream ---

    def read_stream(self, url: str, on_line: Callable[[str], None], *, timeout: float | None = None) -> int:
        """Read a Logplex URL to its end, calling `on_line` for each log line; returns the count.
        Raises `Retry` if the stream cannot be opened or breaks (lines already given stay given)."""
        headers = {"Accept": "text/event-stream, text/plain;q=0.9, */*;q=0.1", "User-Agent": USER_AGENT}
        count = 0
        try:
            with self.client.stream(
                "GET", url, headers=headers, timeout=httpx.Timeout(self.timeout, read=timeout or self.timeout)
            ) as response:
                if response.status_code >= 300:
                    # 403/404 from Logplex mean the session expired; a new session is the cure.
                    raise Retry(f"the log stream answered {error_detail(response)}")
                kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                reader = sse_lines if kind == "text/event-stream" else text_lines
                for line in reader(response.iter_bytes()):
                    if line.strip():
                        count += 1
                        on_line(line)
        except httpx.TransportError as exc:
            raise Retry(f"{transport_reason(exc, 'reading the log stream')} after {count} lines") from None
        except (httpx.HTTPError, httpx.InvalidURL):
            raise Retry(f"the log stream could not be read (after {count} lines)") from None
        return count

    def fetch(self, app: str, *, dyno: str | None = None, source: str | None = None) -> Fetched:
        """The app's last `lines` log lines, oldest first. Raises `TokenRejected`, `AppNotFound`,
        `RateLimited` or `SourceUnavailable` when nothing could be read."""
        seen: dict[str, None] = {}  # an ordered set: a reopened session repeats the history

        def attempt() -> None:
            url = self.open_session(app, dyno=dyno, source=source)
            self.read_stream(url, lambda line: seen.setdefault(line, None))

        try:
            with_retries(self.policy, "heroku", app, attempt)
        except SourceError as exc:
            if not seen:
                raise
            return Fetched(
                tuple(seen), complete=False, problem=f"{exc.reason}; kept the {len(seen)} lines read"
            )
        return Fetched(tuple(seen))

    def tail(
        self,
        app: str,
        on_line: Callable[[str], None],
        stop: threading.Event,
        on_open: Callable[[], None] | None = None,
    ) -> None:
        """Tail mode: keep one `tail: true` session open and reopen it whenever it ends, until `stop` is
        set; `on_open` is called as each session starts (its history comes first, then new lines).
        Errors that retrying cannot cure (token, app) are raised; the rest back off and go on."""
        failures = 0
        while not stop.is_set():
            try:
                url = self.open_session(app, tail=True)
                if on_open:
                    on_open()
                # A tail session is quiet between lines: the read timeout only has to outlast silences.
                self.read_stream(url, on_line, timeout=max(self.timeout, 300.0))
                failures = 0
            except Retry as exc:
                failures += 1
                wait = exc.wait if exc.wait is not None else self.policy.backoff(min(failures, 6))
                stop.wait(min(wait, max(self.policy.max_wait, self.policy.cap)))
            except RuntimeError:
                # Shutting down closes the client to end a quiet stream at once; httpx then refuses the
                # next request. That is the end of the tail, not a failure.
                if stop.is_set():
                    return
                raise
