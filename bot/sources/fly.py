"""Fly.io logs API client: the HTTP API flyctl polls (`GET /api/v1/apps/{app}/logs`), paged with next_token.

The API is undocumented but stable enough that flyctl depends on it (fly-go `resource_logs.go`):
`?next_token=` is always sent (empty the first time, when the API returns the most recent lines), and
each answer is `{"data": [{"id", "attributes": {timestamp, message, level, instance, region, meta}}],
"meta": {"next_token": "<nanosecond timestamp>"}}`. Go reads JSON keys case-insensitively, so we do too.
An empty page means we are up to date; the caller persists the last token so a restart neither loses
nor repeats lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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
    transport_reason,
    with_retries,
)

DEFAULT_URL = "https://api.fly.io"
MACHINES_URL = "https://api.machines.dev"  # the Machines API's public address (superfly/docs)
_PROVIDERS = ("proxy", "app", "runner", "health", "machine", "stats", "api")


def authorization(token: str) -> str:
    """The Authorization header for a Fly.io token: macaroons (`fm1r_`, `fm2_`, as printed by `fly tokens
    create`, possibly with a `FlyV1 ` prefix and comma-joined) go as `FlyV1`, anything else as `Bearer`."""
    token = token.strip()
    for prefix in ("FlyV1 ", "Bearer "):
        if token.startswith(prefix):
            token = token[len(prefix) :].strip()
    if token.startswith(("fm1r_", "fm1a_", "fm2_")):
        return f"FlyV1 {token}"
    return f"Bearer {token}"


def _get(data: object, *keys: str) -> object:
    """data[k1][k2]... with keys matched case-insensitively (as Go's encoding/json does); None if absent."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        if key in data:
            data = data[key]
            continue
        data = next((v for k, v in data.items() if isinstance(k, str) and k.lower() == key), None)
    return data


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class FlyEntry:
    """One log entry of the Fly.io logs API."""

    timestamp: str
    message: str
    level: str = "info"
    instance: str = ""
    region: str = ""
    provider: str = "app"
    status: int | None = None  # meta.http.response.status_code
    url: str = ""  # meta.url.full
    id: str = ""

    @classmethod
    def from_api(cls, item: object) -> FlyEntry | None:
        attrs = _get(item, "attributes")
        if not isinstance(attrs, dict):
            return None
        message = _get(attrs, "message")
        if not isinstance(message, str):
            return None
        status = _get(attrs, "meta", "http", "response", "status_code")
        return cls(
            timestamp=_str(_get(attrs, "timestamp")),
            message=message,
            level=_str(_get(attrs, "level")) or "info",
            instance=_str(_get(attrs, "instance")) or _str(_get(attrs, "meta", "instance")),
            region=_str(_get(attrs, "region")) or _str(_get(attrs, "meta", "region")),
            provider=_str(_get(attrs, "meta", "event", "provider")) or "app",
            status=status
            if isinstance(status, int) and not isinstance(status, bool) and status > 0
            else None,
            url=_str(_get(attrs, "meta", "url", "full")),
            id=_str(_get(item, "id")),
        )

    @property
    def line(self) -> str:
        """The entry as flyctl prints it: `<ts> <provider>[<instance>] <region> [<level>]<message>`, the one
        text form `bot.logs.parse_line` reads for Fly.io."""
        provider = self.provider if self.provider in _PROVIDERS else "app"
        # parse_line needs a three-letter region; "unk" stands in when the API sent none.
        region = self.region if re.fullmatch(r"[a-z]{3}", self.region) else "unk"
        instance = re.sub(r"[\]\s]", "", self.instance) or "-"
        message = self.message.replace("\r", " ").replace("\n", " ")
        return f"{self.timestamp} {provider}[{instance}] {region} [{self.level}]{message}"


@dataclass(frozen=True)
class FlyPage:
    entries: tuple[FlyEntry, ...]
    next_token: str  # where the next page starts; the token asked with if the API sent none


class FlyLogs(PlatformClient):
    """Reads an app's log entries through the Fly.io logs API, page by page from a cursor."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_URL,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
        policy: RetryPolicy | None = None,
        max_pages: int = 50,
    ):
        if not token:
            raise ValueError("FlyLogs needs a token")
        super().__init__(base_url=base_url, client=client, timeout=timeout, policy=policy)
        self._authorization = authorization(token)
        self.max_pages = max_pages

    def page(self, app: str, next_token: str = "", *, instance: str = "", region: str = "") -> FlyPage:
        """One page of entries after `next_token` (retried on 5xx, timeouts and 429s)."""
        params = {"next_token": next_token}
        if instance:
            params["instance"] = instance
        if region:
            params["region"] = region
        headers = {
            "Authorization": self._authorization,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        url = f"{self.base_url}/api/v1/apps/{quote(app, safe='')}/logs"

        def attempt() -> FlyPage:
            try:
                response = self.client.get(url, params=params, headers=headers, timeout=self.timeout)
                check(response, platform="fly", app=app, name="Fly.io", setting="FLY_API_TOKEN")
                body = response.json()
            except httpx.TransportError as exc:
                raise Retry(transport_reason(exc, "reading the logs")) from None
            except ValueError:
                raise Retry("Fly.io answered with something that is not JSON") from None
            data = _get(body, "data")
            if not isinstance(data, list):
                raise Retry("Fly.io answered without a data list")
            entries = tuple(e for e in (FlyEntry.from_api(item) for item in data) if e is not None)
            token = _get(body, "meta", "next_token")
            return FlyPage(entries, token if isinstance(token, str) and token else next_token)

        return with_retries(self.policy, "fly", app, attempt)

    def machines(self, app: str, machines_url: str = MACHINES_URL) -> list[dict[str, Any]]:
        """The app's machines from the Machines API (`GET /v1/apps/{app}/machines`); one try: it only adds
        "started after release v42" to an alert, so a failure raises and the alert goes without."""
        response = self.client.get(
            f"{machines_url.rstrip('/')}/v1/apps/{quote(app, safe='')}/machines",
            headers={
                "Authorization": self._authorization,
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            timeout=self.timeout,
        )
        check(response, platform="fly", app=app, name="Fly.io", setting="FLY_API_TOKEN")
        data = response.json()
        return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []

    def pages(self, app: str, cursor: str = "") -> Iterator[FlyPage]:
        """Pages from `cursor` until the API has nothing newer (at most `max_pages`; the rest waits for the
        next poll). An error after some pages is raised after those pages were given."""
        token = cursor
        for _ in range(self.max_pages):
            page = self.page(app, token)
            if not page.entries:
                return
            yield page
            if page.next_token == token:
                return  # the API did not move the cursor; asking again would repeat the page
            token = page.next_token
