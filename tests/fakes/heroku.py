"""A fake Heroku on 127.0.0.1: the Platform API's log sessions and the Logplex stream behind them.

`FakeHeroku` is one ThreadingHTTPServer (HTTP/1.1, port 0) that answers like Heroku:

- `POST /apps/{app}/log-sessions` (needs `Accept: application/vnd.heroku+json; version=3` and
  `Authorization: Bearer <key>`) -> 201 `{"id", "logplex_url", "created_at", "updated_at"}`, with
  `RateLimit-Remaining`; errors are `{"id", "message"}` (401 unauthorized, 403 forbidden, 404 not_found,
  429 rate_limit ...);
- `GET /apps/{app}` -> the app, with its `generation` ("cedar" or "fir");
- the `logplex_url`: either Server-Sent Events (`/streams/{id}?token=…`, `text/event-stream`, several
  lines per event) or plain chunked text (`/sessions/{id}?srv=…`, Logplex's `text/html`), per app. The
  history is the app's last 1,500 lines (Fir apps: none); a tail session then sends what `log()` adds.

Faults, per place (`session`, `stream`, `app`) and app: an HTTP status with headers and body, a stream
cut midway (after N lines, in the middle of the next one, without the closing chunk), or a delay
before answering (for timeouts). Every request is recorded, auth header included, so tests can prove
the API key never travels to the Logplex host.
"""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from fakes import QuietHandler

API_KEY = "HRKU-AAfake0key0do0not0leak0123456789abcdef"
HISTORY = 1500


@dataclass
class Fault:
    status: int | None = None
    body: dict | str | None = None
    headers: dict = field(default_factory=dict)
    times: int | None = 1  # None: every time
    cut_after: int | None = None  # stream: lines sent before the connection drops
    delay: float | None = None  # seconds before answering


@dataclass
class FakeApp:
    name: str
    stream: str = "sse"  # "sse" | "plain"
    generation: str = "cedar"
    lines: list[str] = field(default_factory=list)
    releases: list[dict] = field(default_factory=list)  # oldest first, as the Platform API's release objects


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict
    body: dict | None
    at: float


@dataclass
class Session:
    app: FakeApp
    lines: list[str]
    tail: bool
    tail_seconds: float


# --- realistic log text -----------------------------------------------------------------------------


def ts(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="microseconds")


def router(
    t: datetime,
    path: str,
    status: int,
    service: int,
    *,
    dyno: str = "web.1",
    code: str | None = None,
    desc: str | None = None,
    method: str = "GET",
    host: str = "shop-api.herokuapp.com",
) -> str:
    rid = uuid.UUID(int=random.Random(f"{t}{path}").getrandbits(128))
    if code:
        return (
            f'{ts(t)} heroku[router]: at=error code={code} desc="{desc}" method={method} path="{path}" '
            f'host={host} request_id={rid} fwd="203.0.113.7" dyno={dyno} connect=1ms service={service}ms '
            f"status={status} bytes=0 protocol=https"
        )
    return (
        f'{ts(t)} heroku[router]: at=info method={method} path="{path}" host={host} request_id={rid} '
        f'fwd="203.0.113.7" dyno={dyno} connect=0ms service={service}ms status={status} bytes=1548 '
        f"protocol=https"
    )


def crashed(t: datetime, path: str = "/") -> str:
    rid = uuid.UUID(int=random.Random(f"{t}{path}h10").getrandbits(128))
    return (
        f'{ts(t)} heroku[router]: at=error code=H10 desc="App crashed" method=GET path="{path}" '
        f'host=shop-api.herokuapp.com request_id={rid} fwd="203.0.113.9" dyno= connect= service= status=503 '
        f"bytes= protocol=https"
    )


def history(start: datetime, *, minutes: int = 40) -> list[str]:
    """A realistic stretch of a Rails app's log: traffic, a slow export timing out (H12), memory
    trouble (R14), a crash and H10s, restarts — one line every few seconds, in time order."""
    rnd = random.Random(5)
    out: list[str] = []
    t = start
    paths = ["/api/products", "/api/products/1834", "/api/cart", "/", "/api/users/77/orders", "/health"]
    for minute in range(minutes):
        for _ in range(3):
            t += timedelta(seconds=rnd.randint(3, 9), microseconds=rnd.randint(0, 999_999))
            out.append(
                router(
                    t,
                    rnd.choice(paths),
                    200,
                    rnd.choice([12, 35, 48, 90, 140, 230, 480]),
                    dyno=rnd.choice(["web.1", "web.2"]),
                )
            )
        if minute % 7 == 3:
            t += timedelta(seconds=2)
            out.append(
                router(
                    t,
                    "/reports/export?token=s3cr3tvalue1234",
                    503,
                    30000,
                    dyno="web.2",
                    code="H12",
                    desc="Request timeout",
                )
            )
            out.append(
                f"{ts(t + timedelta(milliseconds=400))} app[web.2]: E, [{ts(t)} #4] ERROR -- : "
                "Rack::Timeout::RequestTimeoutException: Request waited 30000ms"
            )
            t += timedelta(milliseconds=500)
        if minute == 20:
            t += timedelta(seconds=1)
            out.append(f"{ts(t)} heroku[web.1]: Process running mem=1093M(106.7%)")
            out.append(
                f"{ts(t + timedelta(microseconds=5))} heroku[web.1]: Error R14 (Memory quota exceeded)"
            )
        if minute == 30:
            t += timedelta(seconds=1)
            out += [
                f"{ts(t)} heroku[web.1]: State changed from up to crashed",
                f"{ts(t + timedelta(milliseconds=1))} heroku[web.1]: Process exited with status 1",
            ]
            for k in range(2):
                out.append(crashed(t + timedelta(seconds=1 + k)))
            t += timedelta(seconds=3)
            out.append(
                f"{ts(t)} heroku[web.1]: Starting process with command `bundle exec puma -C config/puma.rb`"
            )
            out.append(f"{ts(t + timedelta(seconds=4))} heroku[web.1]: State changed from starting to up")
            t += timedelta(seconds=4)
        if minute % 10 == 5:
            out.append(
                f'{ts(t + timedelta(milliseconds=3))} app[web.1]: Started GET "/api/products" for '
                f"203.0.113.7 at {t:%Y-%m-%d %H:%M:%S} +0000"
            )
    return out


# --- the server ---------------------------------------------------------------------------------------


class FakeHeroku:
    """The Heroku Platform API and Logplex, on 127.0.0.1."""

    def __init__(self, api_key: str = API_KEY, *, tail_seconds: float = 1.0):
        self.api_key = api_key
        self.tail_seconds = tail_seconds
        self.apps: dict[str, FakeApp] = {}
        self.sessions: dict[str, Session] = {}
        self.faults: dict[tuple[str, str], list[Fault]] = {}
        self.requests: list[Request] = []
        self.rate_remaining = 4500
        self._cond = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # clients that time out hang up on us
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_app(
        self, name: str, lines: list[str] | None = None, *, stream: str = "sse", generation: str = "cedar"
    ) -> FakeApp:
        app = FakeApp(name, stream, generation)
        self.apps[name] = app
        self.log(name, *(lines or []))
        return app

    def release(self, name: str, at: datetime, email: str, description: str = "Deploy 1a2b3c4") -> dict:
        """A release of the app, shaped like the Platform API's release object."""
        with self._cond:
            app = self.apps[name]
            for old in app.releases:
                old["current"] = False
            release = {
                "id": str(uuid.uuid4()),
                "version": len(app.releases) + 1,
                "created_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "updated_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "description": description,
                "status": "succeeded",
                "current": True,
                "user": {"id": str(uuid.uuid4()), "email": email},
                "app": {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)), "name": name},
                "slug": {"id": str(uuid.uuid4())},
                "addon_plan_names": [],
                "output_stream_url": None,
            }
            app.releases.append(release)
            return release

    def log(self, name: str, *lines: str) -> None:
        """The app writes lines; Logplex keeps the last 1,500."""
        with self._cond:
            app = self.apps[name]
            app.lines.extend(lines)
            del app.lines[:-HISTORY]
            self._cond.notify_all()

    def fail(
        self,
        where: str,
        app: str,
        status: int | None = None,
        *,
        body: dict | str | None = None,
        headers: dict | None = None,
        times: int | None = 1,
        cut_after: int | None = None,
        delay: float | None = None,
    ) -> None:
        """Add a fault at `where` ("session", "stream" or "app") for `app`; faults queue in order."""
        if status and body is None:
            body = {
                401: {"id": "unauthorized", "message": "Invalid credentials provided."},
                403: {"id": "forbidden", "message": "You do not have access to the app."},
                404: {"id": "not_found", "message": "Couldn't find that app.", "resource": "app"},
                429: {"id": "rate_limit", "message": "Your account reached the API rate limit"},
            }.get(status, {"id": "internal_server_error", "message": "Internal server error."})
        self.faults.setdefault((where, app), []).append(
            Fault(status, body, headers or {}, times, cut_after, delay)
        )

    def take_fault(self, where: str, app: str) -> Fault | None:
        with self._cond:
            queue = self.faults.get((where, app), [])
            if not queue:
                return None
            fault = queue[0]
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
            return fault

    def requests_to(self, method: str, prefix: str) -> list[Request]:
        with self._cond:
            return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def wait_for(self, method: str, prefix: str, count: int = 1, timeout: float = 10.0) -> list[Request]:
        """Block until `count` requests of `method` to paths starting with `prefix` are recorded."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.requests_to(method, prefix)) >= count, timeout):
                seen = [(r.method, r.path) for r in self.requests]
                raise AssertionError(f"expected {count} {method} {prefix}* request(s); saw {seen}")
            return self.requests_to(method, prefix)


def _make_handler(fake: FakeHeroku) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def _send_json(self, status: int, body: dict | str, headers: dict | None = None) -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("RateLimit-Remaining", str(fake.rate_remaining))
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> dict | None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            parts = urlsplit(self.path)
            with fake._cond:
                fake.requests.append(
                    Request(self.command, parts.path, parts.query, dict(self.headers), body, time.monotonic())
                )
                fake._cond.notify_all()
            return body

        def _fault(self, where: str, app: str) -> Fault | None:
            fault = fake.take_fault(where, app)
            if fault and fault.delay:
                time.sleep(fault.delay)
            if fault and fault.status:
                self._send_json(fault.status, fault.body or {}, fault.headers)
            return fault

        def do_POST(self) -> None:  # noqa: N802
            body = self._record() or {}
            parts = urlsplit(self.path).path.strip("/").split("/")
            if len(parts) != 3 or parts[0] != "apps" or parts[2] != "log-sessions":
                return self._send_json(404, {"id": "not_found", "message": "Not found."})
            if not self._api_checks():
                return
            name = parts[1]
            fault = self._fault("session", name)
            if fault and fault.status:
                return
            if name not in fake.apps:
                return self._send_json(
                    404, {"id": "not_found", "message": "Couldn't find that app.", "resource": "app"}
                )
            app = fake.apps[name]
            fake.rate_remaining = max(0, fake.rate_remaining - 1)
            lines = int(body.get("lines") or 100)
            with fake._cond:
                history = [] if app.generation == "fir" else app.lines[-lines:] if lines else []
                sid = str(uuid.uuid4())
                fake.sessions[sid] = Session(app, list(history), bool(body.get("tail")), fake.tail_seconds)
            url = (
                f"{fake.url}/streams/{sid}?token=logplex-session-token-{sid[:8]}"
                if app.stream == "sse"
                else f"{fake.url}/sessions/{sid}?srv=1325419200"
            )
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._send_json(201, {"id": sid, "logplex_url": url, "created_at": now, "updated_at": now})

        def _api_checks(self) -> bool:
            if "application/vnd.heroku+json; version=3" not in self.headers.get("Accept", ""):
                self._send_json(406, {"id": "not_acceptable", "message": "Please use a version of the API."})
                return False
            if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                self._send_json(401, {"id": "unauthorized", "message": "Invalid credentials provided."})
                return False
            return True

        def do_GET(self) -> None:  # noqa: N802
            self._record()
            parts = urlsplit(self.path).path.strip("/").split("/")
            if len(parts) == 2 and parts[0] == "apps":
                if not self._api_checks():
                    return
                fault = self._fault("app", parts[1])
                if fault and fault.status:
                    return
                app = fake.apps.get(parts[1])
                if not app:
                    return self._send_json(404, {"id": "not_found", "message": "Couldn't find that app."})
                return self._send_json(
                    200,
                    {
                        "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, app.name)),
                        "name": app.name,
                        "generation": {"id": str(uuid.uuid4()), "name": app.generation},
                    },
                )
            if len(parts) == 3 and parts[0] == "apps" and parts[2] == "releases":
                return self._releases(parts[1])
            if len(parts) == 2 and parts[0] in ("streams", "sessions"):
                return self._stream(parts[1])
            self._send_json(404, {"id": "not_found", "message": "Not found."})

        def _releases(self, name: str) -> None:
            """`GET /apps/{app}/releases`: ranged by version (`Range: version ..; order=desc, max=N`);
            206 with `Next-Range` when more are left, as the Platform API pages."""
            if not self._api_checks():
                return
            fault = self._fault("releases", name)
            if fault and fault.status:
                return
            app = fake.apps.get(name)
            if not app:
                return self._send_json(404, {"id": "not_found", "message": "Couldn't find that app."})
            spec = self.headers.get("Range", "")
            m = re.search(r"max=(\d+)", spec)
            limit = min(int(m.group(1)) if m else 200, 1000)
            ordered = list(reversed(app.releases)) if "order=desc" in spec else list(app.releases)
            page = ordered[:limit]
            headers = (
                {"Next-Range": f"version ]{page[-1]['version']}..; max={limit}"}
                if len(ordered) > limit
                else {}
            )
            self._send_json(206 if headers else 200, page, headers)

        # --- Logplex ---

        def _stream(self, sid: str) -> None:
            session = fake.sessions.get(sid)
            if not session:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            fault = self._fault("stream", session.app.name)
            if fault and fault.status:
                return
            sse = session.app.stream == "sse"
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream" if sse else "text/html; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            units = _frame(session.lines, sse)
            try:
                if fault and fault.cut_after is not None:
                    sent = b"".join(units[: fault.cut_after])
                    if fault.cut_after < len(units):
                        sent += units[fault.cut_after][: len(units[fault.cut_after]) // 2]
                    self._chunks(sent)
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)  # no closing chunk: the read breaks
                    return
                if sse:
                    self._chunks(b": connected\n\n")
                self._chunks(b"".join(units))
                if session.tail:
                    self._tail(session, sse)
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _tail(self, session: Session, sse: bool) -> None:
            app = session.app
            with fake._cond:
                sent = len(app.lines)
            deadline = time.monotonic() + session.tail_seconds
            while time.monotonic() < deadline:
                with fake._cond:
                    fake._cond.wait(0.05)
                    new = app.lines[sent:]
                    sent = len(app.lines)
                if new:
                    self._chunks(b"".join(_frame(new, sse)))

        def _chunks(self, data: bytes, size: int = 700) -> None:
            # Chunks cut lines anywhere, as a real network does.
            for i in range(0, len(data), size):
                part = data[i : i + size]
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")

    return Handler


def _frame(lines: list[str], sse: bool) -> list[bytes]:
    """One unit of bytes per line: SSE groups up to three lines in one event (several `data:` fields)."""
    if not sse:
        return [f"{line}\n".encode() for line in lines]
    units = []
    for i, line in enumerate(lines):
        head = f"id: {i}\n" if i % 3 == 0 else ""
        tail = "\n" if i % 3 == 2 or i == len(lines) - 1 else ""
        units.append(f"{head}data: {line}\n{tail}".encode())
    return units
