"""Starting the Slack bot with a missing or rejected setting: one clear line naming it, a non-zero exit,
no traceback, and never the token itself."""

from __future__ import annotations

import socket
import subprocess

import pytest
from fakes.slack import APP_TOKEN, FakeSlack, FakeSocketMode, bot_env, dynodoc_command, free_port

WRONG_BOT_TOKEN = "xoxb-9999-wrong-token-abcdef"
WRONG_APP_TOKEN = "xapp-1-A0APP-9999-wrong-token"


@pytest.fixture
def fake():
    slack = FakeSlack()
    slack.socket = FakeSocketMode()
    yield slack
    slack.close()


def start(fake: FakeSlack, tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*dynodoc_command(), *args],
        env=bot_env(fake, tmp_path / "dynodoc.db", **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )


def assert_one_line(result: subprocess.CompletedProcess, expected: str, *secrets: str) -> None:
    assert result.returncode != 0
    assert result.stderr.splitlines() == [f"dynodoc: {expected}"], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for secret in secrets:
        assert secret not in result.stderr + result.stdout


def test_a_rejected_bot_token(fake, tmp_path):
    result = start(
        fake,
        tmp_path,
        "serve",
        "--http",
        "--port",
        str(free_port()),
        "--host",
        "127.0.0.1",
        SLACK_BOT_TOKEN=WRONG_BOT_TOKEN,
    )
    assert_one_line(result, "SLACK_BOT_TOKEN was rejected by Slack (invalid_auth)", WRONG_BOT_TOKEN)
    assert [c.method for c in fake.calls] == ["auth.test"]


def test_a_rejected_app_token(fake, tmp_path):
    result = start(fake, tmp_path, "serve", SLACK_APP_TOKEN=WRONG_APP_TOKEN)
    assert_one_line(result, "SLACK_APP_TOKEN was rejected by Slack (invalid_auth)", WRONG_APP_TOKEN)
    assert fake.socket.connections == 0


def test_a_revoked_token_names_slacks_error(fake, tmp_path):
    fake.fail("auth.test", body={"ok": False, "error": "token_revoked"})
    result = start(fake, tmp_path, "serve", "--http", "--port", str(free_port()), "--host", "127.0.0.1")
    assert_one_line(result, "SLACK_BOT_TOKEN was rejected by Slack (token_revoked)", fake.bot_token)


def test_no_bot_token(fake, tmp_path):
    result = start(fake, tmp_path, "serve", "--http", SLACK_BOT_TOKEN="")
    assert result.returncode != 0
    [line] = result.stderr.splitlines()
    assert line.startswith("dynodoc: SLACK_BOT_TOKEN is not set")
    assert fake.calls == []


def test_http_mode_without_a_signing_secret(fake, tmp_path):
    result = start(fake, tmp_path, "serve", "--http", SLACK_SIGNING_SECRET="", SLACK_APP_TOKEN=APP_TOKEN)
    assert result.returncode != 0
    [line] = result.stderr.splitlines()
    assert line.startswith("dynodoc: SLACK_SIGNING_SECRET is not set")


def test_a_token_of_the_wrong_kind(fake, tmp_path):
    result = start(fake, tmp_path, "serve", SLACK_BOT_TOKEN="xapp-1-not-a-bot-token")
    assert_one_line(
        result, "SLACK_BOT_TOKEN should start with xoxb- (value not shown)", "xapp-1-not-a-bot-token"
    )


def test_slack_unreachable(fake, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/api/"
    result = start(
        fake,
        tmp_path,
        "serve",
        "--http",
        "--port",
        str(free_port()),
        "--host",
        "127.0.0.1",
        SLACK_API_URL=dead,
    )
    assert result.returncode != 0
    [line] = result.stderr.splitlines()
    assert line.startswith(f"dynodoc: cannot reach Slack at {dead} (")
    assert "SLACK_API_URL" in line


def test_a_port_already_taken(fake, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = start(fake, tmp_path, "serve", "--http", "--port", str(port), "--host", "127.0.0.1")
    assert result.returncode != 0
    [line] = result.stderr.splitlines()
    assert line.startswith(f"dynodoc: cannot listen on port {port} (")


def test_slack_answering_with_an_error_names_it(fake, tmp_path):
    fake.fail("apps.connections.open", body={"ok": False, "error": "socket_mode_disabled"})
    result = start(fake, tmp_path, "serve", SLACK_APP_TOKEN=APP_TOKEN)
    assert_one_line(
        result,
        "Slack refused to start with SLACK_APP_TOKEN (socket_mode_disabled); check the app's "
        "settings (see README.md)",
        APP_TOKEN,
    )


def test_slack_failing_with_a_server_error(fake, tmp_path):
    fake.fail("auth.test", status=500, body="<html>oops</html>")
    result = start(fake, tmp_path, "serve", "--http", "--port", str(free_port()), "--host", "127.0.0.1")
    assert_one_line(
        result, f"cannot reach Slack at {fake.api_url} (HTTP 500); check the network or SLACK_API_URL"
    )
