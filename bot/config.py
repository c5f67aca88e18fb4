"""Settings from the environment (and a `.env` file), validated once, with errors that name the setting."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(ValueError):
    """A setting is missing or wrong. The message names the setting and never echoes a secret."""


@dataclass(frozen=True)
class WatchedApp:
    platform: str  # "heroku" | "fly"
    name: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.name}"


@dataclass(frozen=True)
class Settings:
    # Slack
    slack_bot_token: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)
    slack_signing_secret: str = field(default="", repr=False)
    slack_api_url: str = "https://slack.com/api/"
    # Platforms
    apps: tuple[WatchedApp, ...] = ()
    heroku_api_key: str = field(default="", repr=False)
    fly_api_token: str = field(default="", repr=False)
    heroku_api_url: str = "https://api.heroku.com"
    fly_api_url: str = "https://api.fly.io"
    fly_machines_url: str = "https://api.machines.dev"  # FLY_MACHINES_URL: releases for alerts
    heroku_tail: bool = False
    http_timeout: float = 30.0  # seconds; DYNODOC_HTTP_TIMEOUT
    retry_base: float = 1.0  # seconds before the first retry, doubled each time; DYNODOC_RETRY_BASE
    # Storage and schedule
    db_path: Path = Path("dynodoc.db")
    database_url: str = field(default="", repr=False)  # PostgreSQL, when set: wins over db_path
    poll_minutes: int = 5
    retention_days: int = 30
    digest_time: time = time(9, 0)
    tz: str = "UTC"
    digest_channel: str = ""
    autodiagnose_channels: tuple[str, ...] = ()
    port: int = 3000
    # Log drains and alerts
    drain_token: str = field(default="", repr=False)  # DYNODOC_DRAIN_TOKEN: the drain URL's password
    public_url: str = ""  # DYNODOC_PUBLIC_URL: where Heroku reaches this bot (for `dynodoc drain-url`)
    alert_channel: str = ""  # DYNODOC_ALERT_CHANNEL; the digest channel when unset
    alert_mention: str = ""  # DYNODOC_ALERT_MENTION: <!subteam^ID> or <@U…>, on new incidents only
    log_level: str = "INFO"  # DYNODOC_LOG_LEVEL; DEBUG also says why a message got no reply

    @property
    def has_slack(self) -> bool:
        return bool(self.slack_bot_token)


_APP = re.compile(r"^(heroku|fly):([a-z0-9][a-z0-9-]{0,62})$")


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g} seconds, got {value:g}")
    return value


def _apps(raw: str) -> tuple[WatchedApp, ...]:
    apps: list[WatchedApp] = []
    for item in re.split(r"[,\s]+", raw.strip()):
        if not item:
            continue
        m = _APP.match(item.lower())
        if not m:
            raise ConfigError(
                f"DYNODOC_APPS: {item!r} is not platform:app-name (e.g. heroku:my-api,fly:my-fly-app)"
            )
        app = WatchedApp(m.group(1), m.group(2))
        if app not in apps:
            apps.append(app)
    return tuple(apps)


def _token(env: Mapping[str, str], name: str, prefix: tuple[str, ...] = ()) -> str:
    value = env.get(name, "").strip()
    if value and not re.fullmatch(r"[\x21-\x7e]+", value):
        # A key pasted with a line break, a space or a curly quote inside fails every request in a way
        # that looks like a network fault; say what it is instead (without the value).
        raise ConfigError(
            f"{name} contains a space, a line break or a non-ASCII character; paste the value "
            f"again (value not shown)"
        )
    if value and prefix and not value.startswith(prefix):
        raise ConfigError(f"{name} should start with {' or '.join(prefix)} (value not shown)")
    return value


_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,20}")


_MENTION = re.compile(r"<!subteam\^[A-Z0-9]{6,20}(?:\|[^>]{0,80})?>|<@[UW][A-Z0-9]{6,20}>|<!here>|<!channel>")


def _mention(value: str) -> str:
    if value and not _MENTION.fullmatch(value):
        raise ConfigError(
            f"DYNODOC_ALERT_MENTION: {value!r} is not a Slack mention; use <!subteam^S0123ABCD> for a user "
            "group or <@U0123ABCD> for a person"
        )
    return value


def _drain_token(env: Mapping[str, str]) -> str:
    value = _token(env, "DYNODOC_DRAIN_TOKEN")
    if value and (len(value) < 16 or not re.fullmatch(r"[A-Za-z0-9._~-]+", value)):
        # It travels in the drain URL's userinfo: short ones are guessable, and `:@/?#` would break the URL.
        raise ConfigError(
            "DYNODOC_DRAIN_TOKEN must be at least 16 characters of letters, digits and . _ ~ - "
            "(try: python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; value not shown)"
        )
    return value


def _database_url(env: Mapping[str, str]) -> str:
    """DATABASE_URL as Heroku Postgres sets it (postgres:// or postgresql://, sslmode in the query)."""
    from urllib.parse import urlsplit

    value = env.get("DATABASE_URL", "").strip()
    if not value:
        return ""
    if not value.startswith(("postgres://", "postgresql://")):
        raise ConfigError(
            "DATABASE_URL must be a postgres:// or postgresql:// URL (value not shown); "
            "unset it to keep the data in the SQLite file DYNODOC_DB"
        )
    try:
        urlsplit(value).port  # noqa: B018 (reading it validates it)
    except ValueError:
        raise ConfigError("DATABASE_URL has a port that is not a number (value not shown)") from None
    return value


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_level(env: Mapping[str, str]) -> str:
    value = env.get("DYNODOC_LOG_LEVEL", "").strip().upper() or "INFO"
    if value not in LOG_LEVELS:
        raise ConfigError(f"DYNODOC_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return value


def _channel(name: str, value: str) -> str:
    if value and not _CHANNEL_ID.fullmatch(value):
        raise ConfigError(
            f"{name}: {value!r} is not a channel ID; use the ID (like C0123ABCDE, at the bottom of "
            f"the channel's details in Slack), not its name"
        )
    return value


class _Problems:
    """Collects every bad setting, so that one start says all of them, one line each."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def check(self, read, default):
        try:
            return read()
        except ConfigError as exc:
            self.lines.append(str(exc))
            return default

    def raise_any(self) -> None:
        if self.lines:
            raise ConfigError(
                "\n".join(self.lines)
                if len(self.lines) == 1
                else f"{len(self.lines)} settings need fixing:\n  " + "\n  ".join(self.lines)
            )


def load_settings(environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    """Read settings from `environ` (default os.environ), with `.env` filling what the environment lacks."""
    env: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        from dotenv import dotenv_values

        env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    problems = _Problems()
    digest_raw = env.get("DYNODOC_DIGEST_TIME", "").strip() or "09:00"
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", digest_raw)
    if not m:
        problems.lines.append(f"DYNODOC_DIGEST_TIME must be HH:MM (24-hour), got {digest_raw!r}")
    tz = env.get("DYNODOC_TZ", "").strip() or "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        problems.lines.append(f"DYNODOC_TZ: {tz!r} is not a known time zone (e.g. UTC, Europe/Paris)")

    slack_api_url = env.get("SLACK_API_URL", "").strip() or "https://slack.com/api/"
    if not slack_api_url.endswith("/"):
        slack_api_url += "/"
    for name in ("SLACK_API_URL", "HEROKU_API_URL", "FLY_API_URL", "FLY_MACHINES_URL"):
        value = env.get(name, "").strip()
        if value and not re.match(r"^https?://", value):
            problems.lines.append(f"{name} must be an http(s) URL, got {value!r}")

    channels = tuple(c for c in re.split(r"[,\s]+", env.get("DYNODOC_AUTODIAGNOSE_CHANNELS", "")) if c)
    check = problems.check
    for channel in channels:
        check(lambda c=channel: _channel("DYNODOC_AUTODIAGNOSE_CHANNELS", c), "")
    settings = Settings(
        slack_bot_token=check(lambda: _token(env, "SLACK_BOT_TOKEN", ("xoxb-",)), ""),
        slack_app_token=check(lambda: _token(env, "SLACK_APP_TOKEN", ("xapp-",)), ""),
        slack_signing_secret=check(lambda: _token(env, "SLACK_SIGNING_SECRET"), ""),
        slack_api_url=slack_api_url,
        apps=check(lambda: _apps(env.get("DYNODOC_APPS", "")), ()),
        heroku_api_key=check(lambda: _token(env, "HEROKU_API_KEY"), ""),
        fly_api_token=check(lambda: _token(env, "FLY_API_TOKEN"), ""),
        heroku_api_url=(env.get("HEROKU_API_URL", "").strip() or "https://api.heroku.com").rstrip("/"),
        fly_api_url=(env.get("FLY_API_URL", "").strip() or "https://api.fly.io").rstrip("/"),
        fly_machines_url=(env.get("FLY_MACHINES_URL", "").strip() or "https://api.machines.dev").rstrip("/"),
        heroku_tail=env.get("DYNODOC_HEROKU_TAIL", "").strip().lower() in ("1", "true", "yes", "on"),
        http_timeout=check(lambda: _seconds(env, "DYNODOC_HTTP_TIMEOUT", 30.0, 0.05, 600), 30.0),
        retry_base=check(lambda: _seconds(env, "DYNODOC_RETRY_BASE", 1.0, 0.0, 60), 1.0),
        db_path=Path(env.get("DYNODOC_DB", "").strip() or "dynodoc.db"),
        database_url=check(lambda: _database_url(env), ""),
        poll_minutes=check(lambda: _int(env, "DYNODOC_POLL_MINUTES", 5, 1, 1440), 5),
        retention_days=check(lambda: _int(env, "DYNODOC_RETENTION_DAYS", 30, 1, 3650), 30),
        digest_time=time(int(m.group(1)), int(m.group(2))) if m else time(9, 0),
        tz=tz,
        digest_channel=check(
            lambda: _channel("DYNODOC_DIGEST_CHANNEL", env.get("DYNODOC_DIGEST_CHANNEL", "").strip()), ""
        ),
        autodiagnose_channels=channels,
        port=check(lambda: _int(env, "PORT", 3000, 1, 65535), 3000),
        drain_token=check(lambda: _drain_token(env), ""),
        public_url=env.get("DYNODOC_PUBLIC_URL", "").strip().rstrip("/"),
        alert_channel=check(
            lambda: _channel("DYNODOC_ALERT_CHANNEL", env.get("DYNODOC_ALERT_CHANNEL", "").strip()), ""
        ),
        alert_mention=check(lambda: _mention(env.get("DYNODOC_ALERT_MENTION", "").strip()), ""),
        log_level=check(lambda: _log_level(env), "INFO"),
    )
    problems.raise_any()
    return settings
