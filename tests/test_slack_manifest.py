"""manifest.yml creates the app in one paste and asks for no more than the bot uses; the Procfile runs it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.slack.listeners import COMMAND, SHORTCUT_CALLBACK

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())

# What each scope is for; a scope added to the manifest must earn a line here.
NEEDED_SCOPES = {
    "app_mentions:read": "app_mention events",
    "channels:history": "message.channels: pastes in public autodiagnose channels",
    "groups:history": "message.groups: pastes in private autodiagnose channels",
    "im:history": "message.im: direct messages",
    "mpim:history": "message.mpim: group DMs, and reading a thread's first message there",
    "chat:write": "replies",
    "commands": "/dynodoc and the message shortcut",
    "files:read": "downloading shared log files",
    "reactions:write": "the eyes reaction while working",
}


def test_top_level_keys_are_the_manifest_schema():
    assert set(MANIFEST) <= {
        "_metadata",
        "display_information",
        "features",
        "oauth_config",
        "settings",
        "functions",
    }
    info = MANIFEST["display_information"]
    assert info["name"] == "Dyno Doctor" and len(info["name"]) <= 35
    assert len(info["description"]) <= 140
    assert 174 <= len(info["long_description"]) <= 4000
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", info["background_color"])


def test_bot_user_and_app_home():
    features = MANIFEST["features"]
    assert re.fullmatch(r"[a-z0-9._-]{1,80}", features["bot_user"]["display_name"])
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["app_home"]["messages_tab_enabled"] is True


def test_the_slash_command_and_shortcut_match_the_listeners():
    [command] = MANIFEST["features"]["slash_commands"]
    assert command["command"] == COMMAND and len(command["command"]) <= 32
    assert "url" not in command  # Socket Mode; README says where to add it for HTTP mode
    [shortcut] = MANIFEST["features"]["shortcuts"]
    assert shortcut == {
        **shortcut,
        "type": "message",
        "callback_id": SHORTCUT_CALLBACK,
        "name": "Diagnose with Dyno Doctor",
    }
    assert len(shortcut["description"]) <= 150


def test_only_the_scopes_it_needs():
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == set(NEEDED_SCOPES)
    assert "user" not in MANIFEST["oauth_config"]["scopes"]


def test_events_interactivity_and_socket_mode():
    settings = MANIFEST["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_mention",
        "message.im",
        "message.channels",
        "message.groups",
        "message.mpim",
        "app_home_opened",
    }
    # The card buttons need interactivity: in Socket Mode it comes over the websocket...
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True


def test_http_mode_is_the_same_manifest_with_its_url_lines_uncommented():
    text = (ROOT / "manifest.yml").read_text()
    uncommented = re.sub(r"(?m)^(\s*)# ((?:request_)?url: )", r"\1\2", text)
    http = yaml.safe_load(uncommented.replace("socket_mode_enabled: true", "socket_mode_enabled: false"))
    settings = http["settings"]
    urls = {
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],  # ...and in HTTP mode as signed POSTs to the same URL
        http["features"]["slash_commands"][0]["url"],
    }
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")
    assert settings["interactivity"]["is_enabled"] is True and settings["socket_mode_enabled"] is False


def test_procfile_runs_http_on_port_and_socket_mode_as_worker():
    lines = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    # The worker schedules only with a shared PostgreSQL: web + worker on SQLite files schedule once.
    assert lines == {"web": "dynodoc serve --http --port $PORT", "worker": "dynodoc serve --jobs shared"}
