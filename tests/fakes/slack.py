"""A fake Slack on 127.0.0.1 for end-to-end tests: the Web API, file downloads, response_url, Socket Mode.

`FakeSlack` is a ThreadingHTTPServer (HTTP/1.1, port 0) that records every call as `Call(method, auth,
params)`, answers like Slack (auth.test names the bot, chat.postMessage returns a ts, anything else
`{"ok": true}`), checks tokens (a wrong one gets `invalid_auth`, as Slack does), serves shared files at
`url_private` only with the bot token, takes `response_url` posts, and has a fault table per method.

It refuses what real Slack refuses, so the bot's mistakes fail the tests: blocks Slack would answer
`invalid_blocks` (more than 50 in a message or 100 in a Home tab, an empty or over-3,000-character section
text, a header over 150 characters or not plain_text, too many context or actions elements, a button
label over 75 characters or a value over 2,000, a repeated block_id), `msg_blocks_too_long` past about
13,200 characters of blocks, a message with neither text nor blocks (`no_text`), and
`conversations.replies` with a bot token in a public or private channel (Slack documents it for bot
tokens in DMs and group DMs only). Every refusal is kept in `FakeSlack.rejected`.
`FakeSocketMode` is a websocket server (websockets.sync) that `apps.connections.open` points the bot
at: it says hello, sends envelopes and records the acks.

`BotProcess` runs the real `dynodoc serve` as a subprocess against them, and `sign` / `post_signed`
make the signed requests Slack would send. Tests read what the bot did from `FakeSlack.wait_for`,
with a deadline, because Bolt acknowledges a request before its listener runs. What the bot did NOT do
is read the same way: `BotProcess.wait_log` waits for the line in which the bot logs its decision (a
dropped retry, a message it chose not to answer), after which nothing more comes of that request; no
test sleeps and hopes.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import websockets.sync.server
from clirun import child_environ

BOT_TOKEN = "xoxb-1111-2222-fakebottoken"
APP_TOKEN = "xapp-1-A0APP-3333-fakeapptoken"
SIGNING_SECRET = "fake-signing-secret-0123456789"
TEAM_ID = "T0TEAM"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0APP"
PAYLOADS = Path(__file__).resolve().parent.parent / "payloads"


@dataclass(frozen=True)
class Call:
    """One request the bot made: the Web API method (or `response_url` / `file`), its auth and params."""

    method: str
    auth: str
    params: dict
    path: str = ""
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    status: int
    body: dict | str
    headers: dict
    times: int | None  # None: every call
    delay: float = 0.0  # seconds to wait before answering (a slow Slack)
    late_only: bool = False  # then answer as usual: only the delay is the fault
    where: dict = field(default_factory=dict)  # only calls whose params include all of these


# Slack's limits on Block Kit, as it enforces them (docs.slack.dev/reference/block-kit).
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BLOCKS_CHARS = 13_200  # msg_blocks_too_long, well below the documented limits (bolt-js#2509)


def _text_problems(where: str, text, limit: int, types=("plain_text", "mrkdwn")) -> list[str]:
    if not isinstance(text, dict) or text.get("type") not in types:
        return [f"[ERROR] must be a {' or '.join(types)} text object [json-pointer:{where}]"]
    value = text.get("text")
    if not isinstance(value, str) or not value:
        return [f"[ERROR] must be more than 0 characters [json-pointer:{where}/text]"]
    if len(value) > limit:
        return [f"[ERROR] must be less than {limit + 1} characters [json-pointer:{where}/text]"]
    return []


def _element_problems(where: str, element: dict) -> list[str]:
    kind = element.get("type")
    problems = []
    if kind == "button":
        problems += _text_problems(f"{where}/text", element.get("text"), 75, ("plain_text",))
        if len(str(element.get("value", ""))) > 2000:
            problems.append(f"[ERROR] must be less than 2001 characters [json-pointer:{where}/value]")
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"[ERROR] must be primary or danger [json-pointer:{where}/style]")
    elif kind in ("conversations_select", "channels_select", "users_select", "static_select"):
        problems += _text_problems(f"{where}/placeholder", element.get("placeholder"), 150, ("plain_text",))
    else:
        problems.append(f"[ERROR] unsupported element type {kind!r} [json-pointer:{where}]")
    if not element.get("action_id") or len(element["action_id"]) > 255:
        problems.append(f"[ERROR] action_id must be 1 to 255 characters [json-pointer:{where}/action_id]")
    return problems


def block_problems(blocks, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[str]:
    """What Slack would say is wrong with these blocks (`invalid_blocks`), empty when they would pass."""
    if not isinstance(blocks, list):
        return ["[ERROR] must be an array [json-pointer:/blocks]"]
    problems = []
    if len(blocks) > max_blocks:
        problems.append(f"[ERROR] no more than {max_blocks} items allowed [json-pointer:/blocks]")
    ids = set()
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        kind = block.get("type") if isinstance(block, dict) else None
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if block_id is not None:
            if block_id in ids or len(block_id) > 255:
                problems.append(f"[ERROR] duplicate or too long block_id [json-pointer:{where}/block_id]")
            ids.add(block_id)
        if kind == "header":
            problems += _text_problems(f"{where}/text", block.get("text"), MAX_HEADER_TEXT, ("plain_text",))
        elif kind == "section":
            if "text" in block or "fields" not in block:
                problems += _text_problems(f"{where}/text", block.get("text"), MAX_SECTION_TEXT)
            for j, field_ in enumerate(block.get("fields") or []):
                problems += _text_problems(f"{where}/fields/{j}", field_, 2000)
        elif kind == "context":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= 10:
                problems.append(f"[ERROR] must have 1 to 10 elements [json-pointer:{where}/elements]")
            for j, element in enumerate(elements):
                problems += _text_problems(f"{where}/elements/{j}", element, 2000)
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= 25:
                problems.append(f"[ERROR] must have 1 to 25 elements [json-pointer:{where}/elements]")
            actions = [e.get("action_id") for e in elements]
            if len(set(actions)) != len(actions):
                problems.append(f"[ERROR] action_ids must be unique [json-pointer:{where}/elements]")
            for j, element in enumerate(elements):
                problems += _element_problems(f"{where}/elements/{j}", element)
        elif kind != "divider":
            problems.append(f"[ERROR] unsupported block type {kind!r} [json-pointer:{where}]")
    return problems


def message_problem(params: dict, max_blocks: int = MAX_MESSAGE_BLOCKS) -> dict | None:
    """Slack's error answer for a message it would refuse, or None."""
    blocks = params.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if not blocks and not str(params.get("text") or "").strip():
        return {"ok": False, "error": "no_text"}
    if blocks is None:
        return None
    problems = block_problems(blocks, max_blocks)
    if problems:
        return {
            "ok": False,
            "error": "invalid_blocks",
            "errors": problems,
            "response_metadata": {"messages": problems},
        }
    if len(json.dumps(blocks)) > MAX_BLOCKS_CHARS:
        return {"ok": False, "error": "msg_blocks_too_long"}
    return None


class _Server(ThreadingHTTPServer):
    # Slack's own front never resets a connection under a burst; the standard library's backlog of 5 would.
    request_queue_size = 1024


class FakeSlack:
    """The Slack Web API, file server and response_url endpoint, on 127.0.0.1."""

    def __init__(
        self,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.bot_token = bot_token
        self.app_token = app_token
        self.clock = clock  # stamps posted messages: a test that moves the bot's clock moves Slack's too
        self.calls: list[Call] = []
        self.faults: dict[str, list[Fault]] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self.history: dict[str, list[tuple[dict, dict | None]]] = {}  # channel -> (message, metadata)
        self.channel_types: dict[str, str] = {}  # channel -> im | mpim | private | public (else by prefix)
        self.rejected: list[tuple[Call, dict]] = []  # calls refused as real Slack would, and the answer
        self.socket: FakeSocketMode | None = None
        self._cond = threading.Condition()
        self._ts = 0
        self.server = _Server(("127.0.0.1", 0), _make_handler(self))
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    # -- addresses --

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def response_url(self, key: str) -> str:
        return f"{self.url}/respond/{key}"

    def channel_type(self, channel: str) -> str:
        """im, mpim, private or public: as set, else by the ID's first letter (D, G, C)."""
        return self.channel_types.get(channel) or {"D": "im", "G": "private"}.get(channel[:1], "public")

    def add_message(self, channel: str, ts: str, text: str, user: str = "U0HUMAN", **fields) -> None:
        """A message someone else posted, for conversations.history / conversations.replies to return."""
        with self._cond:
            self.history.setdefault(channel, []).append(
                ({"type": "message", "user": user, "text": text, "ts": ts, **fields}, None)
            )

    def add_file(self, name: str, data: bytes, content_type: str = "text/plain") -> str:
        """Serve `data` as a private file; returns its url_private."""
        self.files[name] = (data, content_type)
        return f"{self.url}/files-pri/{TEAM_ID}-F0{len(self.files)}/{name}"

    # -- faults --

    def fail(
        self,
        method: str,
        status: int = 200,
        body: dict | str | None = None,
        headers: dict | None = None,
        times: int | None = None,
        delay: float = 0.0,
        **where,
    ) -> None:
        """Answer `method` with this instead (e.g. 429 with Retry-After, or ok:false invalid_auth); with
        `delay` (and no body), answer as usual but that many seconds late. With `where` (e.g.
        `channel=...`), only calls whose params include every item: a fault for one test's conversation
        cannot be spent by a call that another test's listener is still making."""
        late_only = body is None and delay > 0
        body = body if body is not None else {"ok": False, "error": "internal_error"}
        self.faults.setdefault(method, []).append(
            Fault(status, body, headers or {}, times, delay, late_only, where)
        )

    def _fault(self, method: str, params: dict) -> Fault | None:
        with self._cond:
            for fault in self.faults.get(method, []):
                if any(params.get(k) != v for k, v in fault.where.items()):
                    continue
                if fault.times is None:
                    return fault
                if fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    # -- the record --

    def record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def mark(self) -> int:
        """A place in the record: `calls_to` / `wait_for` with `after=` see only the calls made since."""
        with self._cond:
            return len(self.calls)

    def calls_to(self, method: str, *, after: int = 0, path: str | None = None, **where) -> list[Call]:
        """Recorded calls of `method` (since the mark `after`, to `path` if given) whose params include
        every `where` item."""
        with self._cond:
            return [
                c
                for c in self.calls[after:]
                if c.method == method
                and (path is None or c.path == path)
                and all(c.params.get(k) == v for k, v in where.items())
            ]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,
        *,
        after: int = 0,
        path: str | None = None,
        **where,
    ) -> list[Call]:
        """Block until `count` matching calls are recorded since the mark `after` (then return them), or
        fail at the deadline. A fake shared by several tests needs `after`, a `path` (a response_url's) or
        params unique to the test, or it may count an earlier test's calls."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self.calls_to(method, after=after, path=path, **where)
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [
                        (c.method, {k: c.params.get(k) for k in ("channel", "thread_ts")}) for c in self.calls
                    ]
                    raise AssertionError(f"expected {count} {method} call(s) matching {where}; saw {seen}")
                self._cond.wait(left)

    def next_ts(self) -> str:
        with self._cond:
            # Like Slack's: the time of posting (so `oldest` filters work), unique by its micro part.
            self._ts += 1
            return f"{int(self.clock().timestamp())}.{self._ts:06d}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.socket:
            self.socket.close()

    # -- answers --

    def reject(self, call: Call, answer: dict) -> None:
        with self._cond:
            self.rejected.append((call, answer))

    def answer(self, call: Call) -> tuple[int, dict | str, dict]:
        """Answer a Web API call and record it: once its effects are in place (a test that saw a
        chat.postMessage finds the message in `history`), or before a slow answer's wait."""
        fault = self._fault(call.method, call.params)
        if fault and fault.delay:
            self.record(call)
            time.sleep(fault.delay)
            return self._answer(call.method, call.auth, call.params, fault)
        reply = self._answer(call.method, call.auth, call.params, fault)
        self.record(call)
        return reply

    def _answer(
        self, method: str, auth: str, params: dict, fault: Fault | None
    ) -> tuple[int, dict | str, dict]:
        if fault and not fault.late_only:
            return fault.status, fault.body, fault.headers
        token = auth.removeprefix("Bearer ").strip()
        if method == "apps.connections.open":
            if token != self.app_token:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            if self.socket is None:
                return 200, {"ok": False, "error": "socket_mode_not_enabled"}, {}
            return 200, {"ok": True, "url": self.socket.url}, {}
        if token != self.bot_token:
            return 200, {"ok": False, "error": "invalid_auth" if token else "not_authed"}, {}
        if method == "auth.test":
            return (
                200,
                {
                    "ok": True,
                    "url": "https://acme.slack.com/",
                    "team": "Acme",
                    "user": "dyno-doctor",
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID,
                    "is_enterprise_install": False,
                },
                {},
            )
        if method in ("chat.postMessage", "chat.postEphemeral", "chat.update", "views.publish"):
            view = params.get("view") if method == "views.publish" else None
            problem = (
                message_problem({"blocks": (view or {}).get("blocks"), "text": "view"}, MAX_VIEW_BLOCKS)
                if method == "views.publish"
                else message_problem(params)
            )
            if problem:
                self.reject(Call(method, auth, params), problem)
                return 200, problem, {}
        if method == "chat.update":
            with self._cond:
                found = next(
                    (
                        m
                        for m, _ in self.history.get(params.get("channel"), [])
                        if m["ts"] == params.get("ts")
                    ),
                    None,
                )
                if found is None:
                    return 200, {"ok": False, "error": "message_not_found"}, {}
                found.update(text=params.get("text"), blocks=params.get("blocks"))
            return (
                200,
                {
                    "ok": True,
                    "channel": params.get("channel"),
                    "ts": params.get("ts"),
                    "text": params.get("text"),
                },
                {},
            )
        if method in ("chat.postMessage", "chat.postEphemeral"):
            ts = self.next_ts()
            message = {
                "type": "message",
                "text": params.get("text"),
                "blocks": params.get("blocks"),
                "bot_id": BOT_ID,
                "user": BOT_USER_ID,
                "ts": ts,
            }
            if params.get("thread_ts"):
                message["thread_ts"] = params["thread_ts"]
            if method == "chat.postMessage":
                meta = params.get("metadata")
                if isinstance(meta, str):
                    meta = json.loads(meta)
                with self._cond:
                    self.history.setdefault(params.get("channel"), []).append((message, meta))
            return (
                200,
                {
                    "ok": True,
                    "channel": params.get("channel"),
                    "ts": ts,
                    "message_ts": ts,
                    "message": message,
                },
                {},
            )
        if method == "conversations.replies":
            # Slack documents this method for bot tokens in DMs and group DMs only.
            if self.channel_type(str(params.get("channel"))) in ("public", "private"):
                return 200, {"ok": False, "error": "method_not_supported_for_channel_type"}, {}
            # The thread's first message, then its replies (only what `add_message` or posts put there).
            with self._cond:
                found = [
                    m
                    for c in (params.get("channel"),)
                    for m, _ in self.history.get(c, [])
                    if m["ts"] == params.get("ts") or m.get("thread_ts") == params.get("ts")
                ]
            if not found:
                return 200, {"ok": False, "error": "thread_not_found"}, {}
            return (
                200,
                {"ok": True, "messages": found[: int(params.get("limit") or 1000)], "has_more": False},
                {},
            )
        if method == "conversations.history":
            # Newest first; top-level messages only (and thread starters); between `oldest` and `latest`,
            # which count themselves only with `inclusive`; metadata only when asked for; `limit` a page
            # (100 by default) and the next page by `response_metadata.next_cursor`, as Slack does.
            inclusive = str(params.get("inclusive")).lower() in ("true", "1")
            oldest = float(params.get("oldest") or 0)
            latest = float(params.get("latest") or "inf")
            with_meta = str(params.get("include_all_metadata")).lower() in ("true", "1")
            with self._cond:
                found = [
                    {**m, **({"metadata": meta} if with_meta and meta else {})}
                    for m, meta in self.history.get(params.get("channel"), [])
                    if (oldest <= float(m["ts"]) <= latest if inclusive else oldest < float(m["ts"]) < latest)
                    and m.get("thread_ts", m["ts"]) == m["ts"]
                ]
            found.sort(key=lambda m: float(m["ts"]), reverse=True)
            start = int(params.get("cursor") or 0)
            end = start + int(params.get("limit") or 100)
            more = end < len(found)
            return (
                200,
                {
                    "ok": True,
                    "messages": found[start:end],
                    "has_more": more,
                    "response_metadata": {"next_cursor": str(end) if more else ""},
                },
                {},
            )
        if method == "chat.delete":
            with self._cond:
                messages = self.history.get(params.get("channel"), [])
                kept = [(m, meta) for m, meta in messages if m["ts"] != params.get("ts")]
                if len(kept) == len(messages):
                    return 200, {"ok": False, "error": "message_not_found"}, {}
                self.history[params.get("channel")] = kept
            return 200, {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}, {}
        if method == "views.publish":
            return 200, {"ok": True, "view": {"id": "V0HOME", **(params.get("view") or {})}}, {}
        return 200, {"ok": True}, {}


def _make_handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 - quiet
            pass

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _hang_up(self) -> None:
            """A dropped connection (status 0 in a fault): no answer at all, as a network failure."""
            self.close_connection = True
            self.connection.shutdown(2)

        def _send(
            self,
            status: int,
            body: dict | str | bytes,
            headers: dict | None = None,
            content_type: str = "application/json; charset=utf-8",
        ) -> None:
            raw = (
                body
                if isinstance(body, bytes)
                else (json.dumps(body).encode() if isinstance(body, dict) else str(body).encode())
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, str(value))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):
            path = urlsplit(self.path).path
            auth = self.headers.get("Authorization", "")
            if path.startswith("/files-pri/"):
                name = path.rsplit("/", 1)[-1]
                fake.record(Call("file", auth, {"name": name}, path))
                if auth != f"Bearer {fake.bot_token}":
                    # Slack sends its sign-in page, not the file, without a good token.
                    self._send(200, b"<html>sign in</html>", content_type="text/html")
                elif name not in fake.files:
                    self._send(404, b"not found", content_type="text/plain")
                else:
                    data, content_type = fake.files[name]
                    self._send(200, data, content_type=content_type)
                return
            if path.startswith("/api/"):  # some Web API methods (conversations.history) are GETs
                method = path.removeprefix("/api/")
                params = dict(parse_qsl(urlsplit(self.path).query))
                status, body, headers = fake.answer(Call(method, auth, params, path))
                self._send(status, body, headers)
                return
            self._send(404, b"not found", content_type="text/plain")

        def do_POST(self):
            path = urlsplit(self.path).path
            raw = self._body()
            auth = self.headers.get("Authorization", "")
            content_type = self.headers.get("Content-Type", "")
            if "json" in content_type:
                params = json.loads(raw or b"{}")
            else:
                params = dict(parse_qsl(raw.decode()))
                for key in ("blocks", "view", "attachments"):
                    if isinstance(params.get(key), str):
                        params[key] = json.loads(params[key])
            if path.startswith("/respond/"):
                call = Call("response_url", auth, params, path)
                fake.record(call)
                problem = None if params.get("delete_original") else message_problem(params)
                if problem:
                    fake.reject(call, problem)
                    self._send(400, problem["error"].encode(), content_type="text/plain")
                    return
                self._send(200, b"ok", content_type="text/plain")
                return
            if not path.startswith("/api/"):
                self._send(404, b"not found", content_type="text/plain")
                return
            method = path.removeprefix("/api/")
            status, body, headers = fake.answer(Call(method, auth, params, path))
            if status == 0:
                self._hang_up()
                return
            self._send(status, body, headers)

    return Handler


class FakeSocketMode:
    """Slack's Socket Mode websocket: says hello, sends envelopes, records acks."""

    def __init__(self):
        self.acks: list[dict] = []
        self.connections = 0
        self._cond = threading.Condition()
        self._ws = None
        self.server = websockets.sync.server.serve(self._handle, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return (
            f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link/?ticket=fake-ticket&app_id={APP_ID}"
        )

    def _handle(self, ws) -> None:
        ws.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "connection_info": {"app_id": APP_ID},
                    "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                }
            )
        )
        with self._cond:
            self._ws = ws
            self.connections += 1
            self._cond.notify_all()
        try:
            for message in ws:
                with self._cond:
                    self.acks.append(json.loads(message))
                    self._cond.notify_all()
        except websockets.exceptions.ConnectionClosed:
            pass

    def wait_connections(self, count: int, timeout: float = 10.0) -> None:
        """Block until the bot has opened `count` websocket connections in all."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.connections >= count, timeout):
                raise AssertionError(f"expected {count} Socket Mode connection(s); saw {self.connections}")

    def wait_connected(self, timeout: float = 10.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._ws is not None, timeout):
                raise AssertionError("the bot never connected to the Socket Mode websocket")

    def send(self, envelope: dict) -> None:
        self.wait_connected()
        self._ws.send(json.dumps(envelope))

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict:
        with self._cond:
            found = self._cond.wait_for(
                lambda: next((a for a in self.acks if a.get("envelope_id") == envelope_id), None), timeout
            )
        if not found:
            raise AssertionError(f"no ack for envelope {envelope_id}; acks: {self.acks}")
        return found

    def close(self) -> None:
        self.server.shutdown()


# --- payloads and signing -------------------------------------------------------------------------------


def payload(name: str, **changes) -> dict:
    """A real-shape payload from tests/payloads, with top-level keys (and `event` keys) replaced."""
    data = json.loads((PAYLOADS / f"{name}.json").read_text())
    event_changes = changes.pop("event", None)
    data.update(changes)
    if event_changes:
        data["event"] = {**data["event"], **event_changes}
    return data


def sign(body: bytes, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """The headers Slack signs a request with: v0=HMAC-SHA256(secret, "v0:{ts}:{body}")."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers=headers)
        res = conn.getresponse()
        return Response(res.status, res.read())
    finally:
        conn.close()


def get(port: int, path: str) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        res = conn.getresponse()
        return Response(res.status, res.read())
    finally:
        conn.close()


def post_event(
    port: int,
    data: dict,
    *,
    timestamp: int | None = None,
    secret: str = SIGNING_SECRET,
    headers: dict | None = None,
) -> Response:
    """POST an Events API payload as JSON, signed."""
    body = json.dumps(data).encode()
    return post(
        port,
        "/slack/events",
        body,
        {"Content-Type": "application/json", **sign(body, timestamp, secret), **(headers or {})},
    )


def post_form(port: int, fields: dict, *, timestamp: int | None = None) -> Response:
    """POST form fields (a slash command, or `payload=<json>` for interactivity), signed."""
    from urllib.parse import urlencode

    body = urlencode(fields).encode()
    return post(
        port,
        "/slack/events",
        body,
        {"Content-Type": "application/x-www-form-urlencoded", **sign(body, timestamp)},
    )


# --- the bot as a subprocess ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dynodoc_command() -> list[str]:
    script = Path(sys.executable).with_name("dynodoc")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def bot_env(fake: FakeSlack, db: Path, **extra: str) -> dict[str, str]:
    """The environment for the bot: ours only, no proxies, no SLACK_*/DYNODOC_* from outside."""
    env = {
        k: v
        for k, v in child_environ().items()
        if not k.startswith(("SLACK_", "DYNODOC_", "HEROKU_", "FLY_"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "port", "database_url")
    }
    env.update(
        {
            "NO_PROXY": "127.0.0.1,localhost",
            "SLACK_API_URL": fake.api_url,
            "SLACK_BOT_TOKEN": fake.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "DYNODOC_DB": str(db),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def engine_env(db: str) -> dict[str, str]:
    """The setting that points the bot at `db`: DATABASE_URL for PostgreSQL, DYNODOC_DB for an SQLite file."""
    return {"DATABASE_URL": db} if db.startswith(("postgres://", "postgresql://")) else {"DYNODOC_DB": db}


class BotProcess:
    """`dynodoc serve ...` running against a fake Slack."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path):
        self.port: int | None = None  # set by `http`
        self.stderr_path = cwd / f"bot-{time.monotonic_ns()}.stderr"
        self._stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [*dynodoc_command(), *args], env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=self._stderr
        )

    @classmethod
    def http(cls, fake: FakeSlack, cwd: Path, **env: str) -> tuple[BotProcess, int]:
        port = free_port()
        bot = cls(
            ["serve", "--http", "--port", str(port), "--host", "127.0.0.1"],
            bot_env(fake, cwd / "dynodoc.db", **env),
            cwd,
        )
        bot.port = port
        bot.wait_port(port)
        return bot, port

    def wait_port(self, port: int, timeout: float = 15.0) -> float:
        """Block until the port accepts connections; returns the seconds it took."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise AssertionError(f"dynodoc exited with {self.proc.returncode}: {self.stderr}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return time.monotonic() - start
            except OSError:
                time.sleep(0.02)
        raise AssertionError(f"dynodoc did not listen on {port} within {timeout}s: {self.stderr}")

    @property
    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def log_mark(self) -> int:
        """A place in the bot's log: `wait_log(after=...)` reads only the lines written since."""
        return self.stderr_path.stat().st_size

    def wait_log(self, text: str, *, after: int = 0, timeout: float = 10.0) -> str:
        """Block until the bot has logged a whole line containing `text` (since the mark `after`), and
        return it; fail at the deadline, or at once if the bot has exited."""
        deadline = time.monotonic() + timeout
        while True:
            data = self.stderr_path.read_bytes()[after:]
            lines = data[: data.rfind(b"\n") + 1].decode("utf-8", "replace").splitlines()
            found = next((line for line in lines if text in line), None)
            if found is not None:
                return found
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"the bot never logged {text!r}; its log since the mark:\n{data.decode('utf-8', 'replace')}"
                )
            time.sleep(0.01)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._stderr.close()
        return self.proc.returncode


def blocks_as_text(blocks: list[dict]) -> str:
    """A screenshot-like rendition of Block Kit blocks (for the README and for readable test failures)."""
    out: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            out.append(f"## {block['text']['text']}")
        elif kind == "section":
            out.append(block["text"]["text"])
        elif kind == "context":
            out.append("   " + "  ".join(e.get("text", "") for e in block["elements"]))
        elif kind == "divider":
            out.append("─" * 40)
        elif kind == "actions":
            out.append(
                " ".join(
                    f"[ {e['text']['text']} ]"
                    if e["type"] == "button"
                    else f"[ {e['placeholder']['text']} ▾ ]"
                    for e in block["elements"]
                )
            )
    return "\n".join(out)


def button(blocks: list[dict], label: str) -> dict:
    """The button (or menu) in a message's actions block whose label contains `label` (case-insensitive)."""
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            text = (element.get("text") or element.get("placeholder") or {}).get("text", "")
            if label.lower() in text.lower():
                return element
    raise AssertionError(f"no button like {label!r} in {blocks_as_text(blocks)}")


def click(
    blocks: list[dict],
    label: str,
    *,
    channel: str,
    message_ts: str | None,
    response_url: str,
    thread_ts: str | None = None,
    user: str = "U0ALICE",
    selected: str | None = None,
) -> dict:
    """The block_actions payload Slack sends when `user` clicks the button labelled `label` on a message
    with these blocks (`message_ts` None: an ephemeral message, which Slack sends without the message).
    `selected` is the conversation picked in a conversations menu."""
    data = payload(
        "block_actions", response_url=response_url, user={**payload("block_actions")["user"], "id": user}
    )
    element = button(blocks, label)
    action = {
        "type": element["type"],
        "action_id": element["action_id"],
        "block_id": "blk1",
        "action_ts": f"{time.time():.6f}",
    }
    if element["type"] == "button":
        action.update(text=element["text"], value=element["value"])
    else:
        action.update(selected_conversation=selected)
    data["actions"] = [action]
    data["channel"] = {"id": channel, "name": "somewhere"}
    if message_ts is None:
        data["container"] = {
            "type": "message",
            "message_ts": "1715680199.000001",
            "channel_id": channel,
            "is_ephemeral": True,
        }
        del data["message"]
    else:
        data["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        }
        data["message"] = {**data["message"], "ts": message_ts, "blocks": blocks}
        if thread_ts:
            data["container"]["thread_ts"] = thread_ts
            data["message"]["thread_ts"] = thread_ts
        else:
            data["message"].pop("thread_ts", None)
    return data
