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
from slack_bolt.middleware import IgnoringSelfEvents
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from bot import messages
from bot.clock import Clock, system_clock
from bot.config import ConfigError, Settings
from bot.drain import DRAIN_PREFIX, MAX_DRAIN_BYTES, DrainIngest
from bot.knowledge import KnowledgeBase
from bot.slack.cards import forget_old_cards
from bot.slack.dedupe import drop_retried_events
from bot.slack.listeners import Services, register
from bot.store import Store, open_store

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
    why = getattr(exc, "reason", None) or exc or "no answer"  # URLError's reason, else the error itself
    return SlackUnreachable(messages.SLACK_UNREACHABLE.format(url=settings.slack_api_url, reason=why))


class _IgnoringOwnEvents(IgnoringSelfEvents):
    """Bolt's own check that drops the events this bot caused (its own messages echoed back), plus a
    DEBUG line naming each event it drops (Bolt's line would print the whole event, text included)."""

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # noqa: A002 (Bolt's name)
    ) -> BoltResponse:
        passed = False

        def go_on() -> BoltResponse:
            nonlocal passed
            passed = True
            return next()

        response = super().process(req=req, resp=resp, next=go_on)
        if not passed:
            event = req.body.get("event") or {}
            log.debug(
                "dropped the bot's own event %s (%s in %s)",
                req.body.get("event_id"),
                event.get("type"),
                event.get("channel"),
            )
        return response


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
            ignoring_self_events_enabled=False,  # _IgnoringOwnEvents below: the same check, logged
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
    app.use(_IgnoringOwnEvents())
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


def _empty(start_response: Callable, status: str) -> list[bytes]:
    start_response(status, [("Content-Length", "0")])
    return []


def _signed(verifier: SignatureVerifier, body: bytes, environ: dict) -> bool:
    """Is the request signed by Slack, within its five minutes? A timestamp that is not a plain number of
    at most 12 digits ("abc", 400 digits) is simply unsigned."""
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or ""
    signature = environ.get("HTTP_X_SLACK_SIGNATURE") or ""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12 and signature):
        return False
    return verifier.is_valid(body, timestamp, signature)


def wsgi_app(
    app: App,
    signing_secret: str | None = None,
    health: Callable[[], str | None] = lambda: None,
    drain: Callable[[str, dict, bytes], tuple[str, str]] | None = None,
) -> Callable[[dict, Callable], Iterable[bytes]]:
    """Bolt at /slack/events, a health check at /healthz, Heroku log drains at /drains/heroku/<app>
    (`drain(path, environ, body)` answers them), 404 elsewhere."""
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
        is_drain = drain is not None and path.startswith(DRAIN_PREFIX)
        if not 0 <= length <= (MAX_DRAIN_BYTES if is_drain else MAX_REQUEST_BYTES):
            return _plain(start_response, "413 Content Too Large", "request too large")
        try:
            body = environ["wsgi.input"].read(length) if length else b""
        except OSError as exc:  # a client that stalls mid-body (timeout) or hangs up: one line, no traceback
            log.warning("request from %s abandoned: %s", environ.get("REMOTE_ADDR", "?"), type(exc).__name__)
            return _plain(start_response, "408 Request Timeout", "request body not received")
        if len(body) != length:
            return _plain(start_response, "400 Bad Request", "incomplete body")
        if is_drain and drain is not None:
            status, text = drain(path, environ, body)
            return _plain(start_response, status, text) if text else _empty(start_response, status)
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
    drain: Callable[[str, dict, bytes], tuple[str, str]] | None = None,
) -> None:
    try:
        server = make_server(
            host,
            port,
            wsgi_app(app, signing_secret, health, drain),
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


class Alerts:
    """The alert engine and its Slack sender, wired to the Bolt app's client and buttons."""

    def __init__(self, app: App, settings: Settings, store: Store, kb: KnowledgeBase):
        from bot.alerting import AlertEngine, AlertSender
        from bot.incidents import IncidentBook
        from bot.slack.alert_actions import register_alert_actions

        self.book = IncidentBook(store)
        self.poll_minutes = settings.poll_minutes
        self.sender = AlertSender(app.client, self.book, kb, mention=settings.alert_mention)
        self.engine = AlertEngine(settings, store, kb, self.book, self.sender.wake, release_lookup(settings))
        register_alert_actions(app, self.book, self.sender.wake)

    def on_saved(self, app, saved, events) -> None:
        from bot.alerting import batch_of

        self.engine.observe(batch_of(app, saved.codes, events, self.book.store.clock()))

    def on_poll(self, result) -> None:
        """A polled app's new events: alerts within one poll. "New" looks back from the start of the
        interval the poll covers, so a first poll's replayed history does not alert as new."""
        from bot.alerting import Batch

        if result.codes:
            now = self.book.store.clock()
            since = result.started - timedelta(minutes=self.poll_minutes + 5)
            self.engine.observe(Batch(result.app, dict(result.codes), since=since, now=now))

    def start(self) -> None:
        self.engine.start()
        self.sender.start()

    def stop(self) -> None:
        self.sender.stop()


def release_lookup(settings: Settings) -> dict:
    """Per platform, how alerts find the release before them (Heroku releases, Fly machines' release
    versions), where there is a token to read them with."""
    from bot.releases import ReleaseLookup, from_fly_machines

    lookups = {}
    if settings.heroku_api_key:
        from bot.sources.heroku import HerokuLogs

        heroku = HerokuLogs(settings.heroku_api_key, base_url=settings.heroku_api_url, timeout=10)
        lookups["heroku"] = ReleaseLookup(heroku.releases)
    if settings.fly_api_token:
        from bot.sources.fly import FlyLogs

        fly = FlyLogs(settings.fly_api_token, base_url=settings.fly_api_url, timeout=10)
        machines_url = settings.fly_machines_url
        lookups["fly"] = ReleaseLookup(lambda app: from_fly_machines(fly.machines(app, machines_url)), "fly")
    return lookups


def start_alerts(app: App, settings: Settings, store: Store, kb: KnowledgeBase) -> Alerts | None:
    """Alerts when there is a channel for them (DYNODOC_ALERT_CHANNEL, else the digest channel)."""
    if not (settings.alert_channel or settings.digest_channel):
        return None
    return Alerts(app, settings, store, kb)


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
    clock: Clock = system_clock,
    jobs: str = "on",
) -> int:
    """Run the bot until stopped: Socket Mode when SLACK_APP_TOKEN is set (and not `http`), else HTTP.

    `clock` is the whole bot's time (`bot.clock`): the store, the schedule, polling and digests read it.
    `jobs` says whether this process also polls and posts the digest (see `runs_jobs`)."""
    if not settings.slack_bot_token:
        raise ConfigError(messages.NO_BOT_TOKEN)
    socket_mode = bool(settings.slack_app_token) and not http
    if not socket_mode and not settings.slack_signing_secret:
        raise ConfigError(messages.NO_SIGNING_SECRET)

    store = open_store(settings, clock)
    try:
        store.forget_seen_events(clock() - timedelta(days=1))
        forget_old_cards(store)
        services = Services(settings=settings, kb=KnowledgeBase.load(), store=store)
        with _sdk_quiet():
            app = build_app(settings, services)
        logging.basicConfig(
            level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
        )
        logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every file URL it fetches
        # DYNODOC_LOG_LEVEL sets the bot's own loggers only: the libraries' DEBUG lines would show payloads.
        for name in ("bot", "dynodoc"):
            logging.getLogger(name).setLevel(settings.log_level)
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
        alerts = start_alerts(app, settings, store, services.kb)
        drain = (
            DrainIngest(settings, store, on_saved=alerts.on_saved if alerts else None)
            if settings.drain_token and not socket_mode
            else None
        )
        if settings.drain_token and socket_mode:
            log.warning("DYNODOC_DRAIN_TOKEN is set but log drains need HTTP mode (dynodoc serve --http)")

        def start_jobs() -> None:  # once Slack has accepted the tokens and the bot is reachable
            if scheduling:
                on_poll = alerts.on_poll if alerts is not None else None
                schedulers.append(start_scheduler(app.client, settings, store, services.kb, on_poll))
            if drain is not None:
                drain.start_reports()
            if alerts is not None:
                alerts.start()

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
                    drain.handle if drain is not None else None,
                )
        except (_Stop, KeyboardInterrupt):
            log.info("stopped")
        finally:
            for scheduler in schedulers:
                scheduler.shutdown(wait=False)
            if alerts is not None:
                alerts.stop()
    finally:
        store.close()
    return 0
