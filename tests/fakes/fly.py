"""A fake Fly.io logs API on 127.0.0.1: `GET /api/v1/apps/{app}/logs?next_token=…&instance=…&region=…`.

It answers the way fly-go reads it (`getLogsResponse`): `{"data": [{"id", "type": "logs", "attributes":
{timestamp, message, level, instance, region, meta: {instance, region, event: {provider}, http: {request:
{id, method, version}, response: {status_code}}, error: {code, message}, url: {full}}}}], "meta":
{"next_token": "<ns timestamp of the last entry>"}}`. An empty next_token returns the most recent page
from the last 24 h; a token returns the entries after it, oldest first, `page_size` at a time; an empty
page echoes the token. Auth: `FlyV1 <macaroon>` for fm1r_/fm2_ tokens, `Bearer <token>` otherwise;
anything else is a 401. Faults per app: status (+ headers, body), a delay, a non-JSON body; they can be
armed to fire only from the n-th request on (`after`), e.g. to break page 2 of a poll.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from fakes import QuietHandler

FLY_TOKEN = "fm2_lJPEFAKEmacaroon0do0not0leak0AAAAAAAAAAAAAAAAAAAAAAAAAAAA"


@dataclass
class Fault:
    status: int | None = None
    body: dict | str | None = None
    headers: dict = field(default_factory=dict)
    times: int | None = 1
    delay: float | None = None
    after: int = 0  # let this many requests of the app through first


@dataclass(frozen=True)
class Request:
    app: str
    params: dict
    auth: str
    at: float


def ns(t: datetime) -> int:
    """The nanosecond timestamp of an entry written at `t` (see `stamp`): Fly's next_token."""
    return int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000 + 789


def stamp(t: datetime) -> str:
    """Fly writes nanoseconds: 2026-11-24T10:00:00.123456789Z."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}789Z"


def entry(
    t: datetime,
    message: str,
    *,
    provider: str = "app",
    level: str = "info",
    instance: str = "e2862692b79d68",
    region: str = "sin",
    status: int | None = None,
    url: str | None = None,
    error_code: int | None = None,
) -> dict:
    meta: dict = {
        "instance": instance,
        "region": region,
        "event": {"provider": provider},
        "http": {"request": {"id": "", "method": "", "version": ""}, "response": {"status_code": 0}},
        "error": {"code": 0, "message": ""},
        "url": {"full": ""},
    }
    if status:
        meta["http"] = {
            "request": {"id": "01JFAKE", "method": "GET", "version": "1.1"},
            "response": {"status_code": status},
        }
    if url:
        meta["url"] = {"full": url}
    if error_code:
        meta["error"] = {"code": error_code, "message": message}
    return {
        "id": f"{ns(t)}-{instance}",
        "type": "logs",
        "attributes": {
            "timestamp": stamp(t),
            "message": message,
            "level": level,
            "instance": instance,
            "region": region,
            "meta": meta,
        },
    }


def history(start: datetime) -> list[dict]:
    """A Node app on two machines: boots, a bind mistake (PC01), load-balancing trouble (PR04), an OOM
    kill and restart, an old-style proxy message without its [Pxx] prefix (PU02), ordinary traffic."""
    a, b = "e2862692b79d68", "3d8d9e0c5e1e89"
    t = start
    out = []

    def add(seconds: float, message: str, **kw) -> None:
        nonlocal t
        t += timedelta(seconds=seconds)
        out.append(entry(t, message, **kw))

    add(1, "Pulling container image registry.fly.io/shop-fly:deployment-01JF", provider="runner", instance=a)
    add(2, "Machine started in 1.012s", provider="runner", instance=a)
    add(1, "Server listening on 127.0.0.1:8080", instance=a)
    for _ in range(3):
        add(
            3,
            "[PC01] instance refused connection. is your app listening on 0.0.0.0:8080? make sure it is not "
            "only listening on 127.0.0.1 (hint: look at your startup logs, servers often print the address "
            "they are listening on)",
            provider="proxy",
            level="error",
            instance=a,
            status=502,
            url="https://shop-fly.fly.dev/api/items/42?session=abc",
            error_code=1,
        )
    add(
        5,
        "[PR04] could not find a good candidate within 21 attempts at load balancing",
        provider="proxy",
        level="error",
        instance=b,
        region="ams",
    )
    add(2, "GET /api/items 200 in 43ms", instance=b, region="ams")
    add(
        4,
        "Out of memory: Killed process 512 (node) total-vm:1183320kB, anon-rss:243188kB",
        provider="app",
        level="error",
        instance=b,
        region="ams",
    )
    add(1, " INFO Main child exited normally with code: 137", provider="runner", instance=b, region="ams")
    add(
        2,
        "could not complete HTTP request to instance: connection closed before message completed",
        provider="proxy",
        level="error",
        instance=b,
        region="ams",
        status=502,
    )
    add(3, "GET /health 200 in 2ms", instance=a)
    return out


class FakeFly:
    """The Fly.io logs API, on 127.0.0.1."""

    def __init__(self, token: str = FLY_TOKEN, *, page_size: int = 100):
        self.token = token
        self.page_size = page_size
        self.apps: dict[str, list[tuple[int, dict]]] = {}  # app -> (ns timestamp, entry), oldest first
        self.machines: dict[str, list[dict]] = {}  # app -> Machines API machine objects
        self.faults: dict[str, list[Fault]] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_app(self, name: str, entries: list[dict] | None = None) -> None:
        self.apps[name] = []
        self.log(name, *(entries or []))

    def machine(self, app: str, machine_id: str, release_version: int, updated_at: str, image: str) -> dict:
        """A machine as `GET /v1/apps/{app}/machines` lists it, stamped by flyctl with its release."""
        machine = {
            "id": machine_id,
            "name": f"{app}-{machine_id[:6]}",
            "state": "started",
            "region": "ams",
            "instance_id": "01J" + machine_id.upper()[:20],
            "image_ref": {"registry": "registry.fly.io", "repository": app, "tag": image.rsplit(":", 1)[-1]},
            "created_at": updated_at,
            "updated_at": updated_at,
            "config": {
                "image": image,
                "metadata": {
                    "fly_platform_version": "v2",
                    "fly_process_group": "app",
                    "fly_release_id": f"rel{release_version:04d}",
                    "fly_release_version": str(release_version),
                },
            },
        }
        with self._lock:
            self.machines.setdefault(app, []).append(machine)
        return machine

    def log(self, name: str, *entries: dict) -> None:
        with self._lock:
            self.apps[name].extend((_ns_of(e), e) for e in entries)
            self.apps[name].sort(key=lambda pair: pair[0])

    def fail(
        self,
        app: str,
        status: int | None = None,
        *,
        body: dict | str | None = None,
        headers: dict | None = None,
        times: int | None = 1,
        delay: float | None = None,
        after: int = 0,
    ) -> None:
        if status and body is None:
            body = {
                401: {"error": "You must be authenticated to view this."},
                403: {"error": "You are not authorized to access this app"},
                404: {"error": "Could not find App"},
                429: {"error": "rate limit exceeded"},
            }.get(status, {"error": "internal server error"})
        self.faults.setdefault(app, []).append(Fault(status, body, headers or {}, times, delay, after))

    def requests_for(self, app: str) -> list[Request]:
        return [r for r in self.requests if r.app == app]

    def _fault(self, app: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get(app, [])
            if not queue:
                return None
            fault = queue[0]
            if fault.after > 0:
                fault.after -= 1
                return None
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
            return fault

    def page(self, app: str, token: str) -> dict:
        with self._lock:
            entries = list(self.apps[app])
        if token:
            after = int(token)
            chosen = [pair for pair in entries if pair[0] > after][: self.page_size]
        else:
            since = ns(datetime.now(UTC) - timedelta(hours=24))
            chosen = [pair for pair in entries if pair[0] >= since][-self.page_size :]
        next_token = str(chosen[-1][0]) if chosen else token
        return {"data": [e for _, e in chosen], "meta": {"next_token": next_token}}


def _ns_of(e: dict) -> int:
    raw = e["attributes"]["timestamp"]
    base = datetime.strptime(raw[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return int(base.timestamp()) * 1_000_000_000 + int(raw[20:29])


def _make_handler(fake: FakeFly) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def _send(self, status: int, body: dict | list | str, headers: dict | None = None) -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html" if isinstance(body, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            segs = parts.path.strip("/").split("/")
            if len(segs) == 4 and segs[:2] == ["v1", "apps"] and segs[3] == "machines":
                return self._machines(segs[2])
            if len(segs) != 5 or segs[:3] != ["api", "v1", "apps"] or segs[4] != "logs":
                return self._send(404, {"error": "Not Found"})
            app = segs[3]
            params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            auth = self.headers.get("Authorization", "")
            with fake._lock:
                fake.requests.append(Request(app, params, auth, time.monotonic()))
            expected = ("FlyV1 " if fake.token.startswith(("fm1r_", "fm2_")) else "Bearer ") + fake.token
            if auth != expected:
                return self._send(401, {"error": "You must be authenticated to view this."})
            fault = fake._fault(app)
            if fault and fault.delay:
                time.sleep(fault.delay)
            if fault and fault.status:
                return self._send(fault.status, fault.body or {}, fault.headers)
            if "next_token" not in params:
                return self._send(400, {"error": "next_token is required"})
            if app not in fake.apps:
                return self._send(404, {"error": "Could not find App"})
            self._send(200, fake.page(app, params["next_token"]))

        def _machines(self, app: str) -> None:
            expected = ("FlyV1 " if fake.token.startswith(("fm1r_", "fm2_")) else "Bearer ") + fake.token
            if self.headers.get("Authorization", "") != expected:
                return self._send(401, {"error": "You must be authenticated to view this."})
            if app not in fake.apps and app not in fake.machines:
                return self._send(404, {"error": "app not found"})
            self._send(200, fake.machines.get(app, []))

    return Handler
