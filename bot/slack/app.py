"""Build the Slack side (WebClient, Bolt App, listeners) and serve it in Socket Mode or over HTTP.

Socket Mode needs no public URL: the bot opens a websocket to Slack (SLACK_APP_TOKEN, `xapp-…`).
HTTP mode serves the Events API, interactivity and slash commands at `/slack/events` (request
signatures checked with SLACK_SIGNING_SECRET) and `/healthz` for the platform's health checks.

The HTTP server is the standard library's wsgiref with a thread per request, in front of Bolt's WSGI
adapter. Slack sends a bot a handful of requests a minute and wants each acknowledged within three
seconds; Bolt acknowledges first and runs the listener in its own thread pool, so a threaded server
that never queues one request behind another is all that is needed. It binds in a fraction of a
second and adds no dependency; gunicorn would add pre-forked worker processes, each with its own
knowledge index and database connection, for traffic a Slack app never sees.
"""

from __future__ import annotations

import io
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from socketserver import ThreadingMixIn
from urllib.error import URLError
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from bot import messages
from bot.config import ConfigError, Settings
from bot.knowledge import KnowledgeBase
from bot.slack.dedupe import drop_retried_events
from bot.slack.listeners import Services, register
from bot.store import open_store, utcnow

log = logging.getLogger("dynodoc")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_REQUEST_BYTES = 1_000_000  # Slack's requests are a few KB; refuse anything far bigger
# Errors meaning the token itself is wrong, as opposed to Slack being unreachable or unwell.
REJECTIONS = (
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "not_allowed_token_type",
    "no_permission",
    "invalid_token",
)


class TokenRejected(ConfigError):
    """Slack refused a token. The message names the setting and Slack's error, never the token."""


class SlackUnreachable(ConfigError):
    """Slack (or SLACK_API_URL) could not be reached, or gave no usable answer."""


# --- building -----------------------------------------------------------------------------------------


@contextmanager
def _sdk_quiet() -> Iterator[None]:
    """Silence slack_sdk's own logging while checking tokens: the one-line error says it all."""
    logger = logging.getLogger("slack_sdk")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


class _UnusedTokenWarning(logging.Filter):
    """Drop Bolt's warning that SLACK_BOT_TOKEN in the environment goes unused: we pass the client on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_client(settings: Settings) -> WebClient:
    """The Web API client: SLACK_API_URL as base URL, and a wait-and-retry on 429s (off by default)."""
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=15)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


def _slack_error(setting: str, exc: BaseException | None, settings: Settings) -> ConfigError:
    """A one-line error for a failed token check (never including the token)."""
    if isinstance(exc, SlackApiError):
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = data.get("error")
        if error in REJECTIONS:
            return TokenRejected(messages.TOKEN_REJECTED.format(setting=setting, error=error))
        if error and exc.response.status_code == 200:  # e.g. Socket Mode not turned on for the app
            return SlackUnreachable(messages.SLACK_REFUSED.format(setting=setting, error=error))
        reason = f"HTTP {exc.response.status_code}"
        return SlackUnreachable(messages.SLACK_UNREACHABLE.format(url=settings.slack_api_url, reason=reason))
    reason = getattr(exc, "reason", None) or exc or "no answer"
    return SlackUnreachable(messages.SLACK_UNREACHABLE.format(url=settings.slack_api_url, reason=reason))


def build_app(settings: Settings, services: Services) -> App:
    """The Bolt app with its listeners. Checks the bot token with auth.test (one call), failing fast."""
    client = build_client(settings)
    logging.getLogger("slack_bolt.App").addFilter(_UnusedTokenWarning())
    try:
        app = App(
            client=client,
            signing_secret=settings.slack_signing_secret,
            token_verification_enabled=True,  # auth.test now: a bad token stops the start, not the first event
            request_verification_enabled=True,
            ignoring_self_events_enabled=True,
            process_before_response=False,  # ack at once, run the listener in Bolt's thread pool
            # More listener threads than Bolt's 10: a burst of mentions during an incident, or one
            # chat.postMessage waiting out a 429, must not queue every other answer behind it.
            listener_executor=ThreadPoolExecutor(max_workers=32, thread_name_prefix="listener"),
        )
    except BoltError as exc:  # Bolt wraps the SlackApiError of auth.test
        if not isinstance(exc.__context__, SlackApiError):
            raise
        raise _slack_error("SLACK_BOT_TOKEN", exc.__context__, settings) from None
    except (URLError, OSError) as exc:
        raise _slack_error("SLACK_BOT_TOKEN", exc, settings) from None
    app.middleware(drop_retried_events(services.store))
    register(app, services)
    return app


# --- HTTP mode ------------------------------------------------------------------------------------------


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """wsgiref's server with one thread per request."""

    daemon_threads = True
    # The listen backlog. The standard library's 5 drops connections when a burst of mentions arrives at
    # once during an incident; the kernel caps this at net.core.somaxconn (4096 on current Linux).
    request_queue_size = 1024

    def handle_error(self, request, client_address) -> None:
        """One warning line for a client that misbehaves (stalls, resets, sends junk), not a traceback."""
        exc = sys.exc_info()[1]
        log.warning("request from %s failed: %s", client_address[0], type(exc).__name__ if exc else "error")


class RequestHandler(WSGIRequestHandler):
    timeout = 30  # a client that stalls mid-request cannot hold a thread forever

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the standard library's name)
        log.debug("%s %s", self.address_string(), format % args)


def _plain(start_response: Callable, status: str, text: str) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
    return [text.encode() + b"\n"]


def _signed(verifier: SignatureVerifier, body: bytes, environ: dict) -> bool:
    """Is the request signed by Slack, within its five minutes? A timestamp that is not a plain number of
    at most 12 digits ("abc", 400 digits) is simply unsigned."""
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or ""
    signature = environ.get("HTTP_X_SLACK_SIGNATURE") or ""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12 and signature):
        return False
    return verifier.is_valid(body, timestamp, signature)


def wsgi_app(
    app: App, signing_secret: str | None = None, health: Callable[[], str | None] = lambda: None
) -> Callable[[dict, Callable], Iterable[bytes]]:
    """Bolt at /slack/events, a health check at /healthz, 404 elsewhere."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)
    verifier = SignatureVerifier(signing_secret) if signing_secret else None

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            problem = health()  # a bot that cannot write its database is not healthy, whatever else works
            return (
                _plain(start_response, "503 Service Unavailable", problem)
                if problem
                else _plain(start_response, "200 OK", "ok")
            )
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_REQUEST_BYTES:
            return _plain(start_response, "413 Content Too Large", "request too large")
        try:
            body = environ["wsgi.input"].read(length) if length else b""
        except OSError as exc:  # a client that stalls mid-body (timeout) or hangs up: one line, no traceback
            log.warning("request from %s abandoned: %s", environ.get("REMOTE_ADDR", "?"), type(exc).__name__)
            return _plain(start_response, "408 Request Timeout", "request body not received")
        if len(body) != length:
            return _plain(start_response, "400 Bad Request", "incomplete body")
        if path != EVENTS_PATH:
            return _plain(start_response, "404 Not Found", "not found")
        # The signature first, before anything looks inside the body: Bolt parses the body before it
        # checks, so unsigned junk (`[1]`, `null`, deep arrays, bad timestamps) must never reach it.
        if verifier is not None and not _signed(verifier, body, environ):
            log.warning(
                "refused a request from %s: missing or bad Slack signature", environ.get("REMOTE_ADDR", "?")
            )
            return _plain(start_response, "401 Unauthorized", "invalid request signature")
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            return slack(environ, start_response)
        except Exception as exc:  # a signed body Bolt cannot read: a 400 and one line, never a 500
            log.warning("could not read a signed request: %s", type(exc).__name__)
            return _plain(start_response, "400 Bad Request", "malformed body")

    return application


def run_http(
    app: App,
    host: str,
    port: int,
    on_ready: Callable[[], None] = lambda: None,
    signing_secret: str | None = None,
    health: Callable[[], str | None] = lambda: None,
) -> None:
    try:
        server = make_server(
            host,
            port,
            wsgi_app(app, signing_secret, health),
            server_class=ThreadingWSGIServer,
            handler_class=RequestHandler,
        )
    except OSError as exc:
        raise ConfigError(messages.PORT_IN_USE.format(port=port, reason=exc.strerror or exc)) from None
    log.info(
        "listening on http://%s:%d — Slack requests at %s, health check at %s",
        host,
        server.server_port,
        EVENTS_PATH,
        HEALTH_PATH,
    )
    try:
        on_ready()
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()


# --- Socket Mode ----------------------------------------------------------------------------------------


def run_socket_mode(app: App, settings: Settings, on_ready: Callable[[], None] = lambda: None) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    # Ask for the websocket URL ourselves: a rejected app token becomes one clear line, not a log trace.
    try:
        with _sdk_quiet():
            url = app.client.apps_connections_open(app_token=settings.slack_app_token)["url"]
    except SlackApiError as exc:
        raise _slack_error("SLACK_APP_TOKEN", exc, settings) from None
    except (URLError, OSError) as exc:
        raise _slack_error("SLACK_APP_TOKEN", exc, settings) from None
    handler = SocketModeHandler(app, settings.slack_app_token)
    handler.client.wss_uri = url
    handler.connect()
    log.info("connected to Slack in Socket Mode")
    try:
        on_ready()
        threading.Event().wait()
    finally:
        handler.close()


# --- the entry point ------------------------------------------------------------------------------------


class _Stop(BaseException):
    """Raised in the main thread by SIGTERM (Heroku's way of stopping a dyno). A BaseException, like
    KeyboardInterrupt, so that the server's request loop (which catches Exception) cannot swallow it."""


def _on_sigterm(signum, frame) -> None:
    raise _Stop


def runs_jobs(jobs: str, store) -> bool:
    """Whether this process runs the scheduler: `on`, `off`, or `shared` (only with PostgreSQL, where
    every instance may, since each job is taken under a lock; an SQLite file is one process's)."""
    return jobs == "on" or (jobs == "shared" and store.dialect == "postgres")


def serve(
    settings: Settings,
    *,
    http: bool = False,
    port: int | None = None,
    host: str = "0.0.0.0",
    jobs: str = "on",
) -> int:
    """Run the bot until stopped: Socket Mode when SLACK_APP_TOKEN is set (and not `http`), else HTTP.
    `jobs` says whether this process also polls and posts the digest (see `runs_jobs`)."""
    if not settings.slack_bot_token:
        raise ConfigError(messages.NO_BOT_TOKEN)
    socket_mode = bool(settings.slack_app_token) and not http
    if not socket_mode and not settings.slack_signing_secret:
        raise ConfigError(messages.NO_SIGNING_SECRET)

    store = open_store(settings)
    try:
        store.forget_seen_events(utcnow() - timedelta(days=1))
        services = Services(settings=settings, kb=KnowledgeBase.load(), store=store)
        with _sdk_quiet():
            app = build_app(settings, services)
        logging.basicConfig(
            level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
        )
        logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every file URL it fetches
        signal.signal(signal.SIGTERM, _on_sigterm)
        from bot.jobs import start_scheduler  # APScheduler: polling and the daily digest

        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every job run at INFO
        schedulers = []
        scheduling = runs_jobs(jobs, store)
        if not scheduling:
            log.info(
                "polling and the digest are left to another process (--jobs %s, database %s)",
                jobs,
                store.dialect,
            )

        def start_jobs() -> None:  # once Slack has accepted the tokens and the bot is reachable
            if scheduling:
                schedulers.append(start_scheduler(app.client, settings, store, services.kb))

        try:
            if socket_mode:
                run_socket_mode(app, settings, start_jobs)
            else:
                run_http(
                    app,
                    host,
                    port if port is not None else settings.port,
                    start_jobs,
                    settings.slack_signing_secret,
                    store.healthy,
                )
        except (_Stop, KeyboardInterrupt):
            log.info("stopped")
        finally:
            for scheduler in schedulers:
                scheduler.shutdown(wait=False)
    finally:
        store.close()
    return 0
