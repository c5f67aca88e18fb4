"""The Slack bot in Socket Mode, end to end: `dynodoc serve` with SLACK_APP_TOKEN set opens the websocket
that the fake's `apps.connections.open` hands out, acknowledges envelopes and answers through the Web API.
"""

from __future__ import annotations

import pytest
from fakes.slack import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER_ID,
    BotProcess,
    FakeSlack,
    FakeSocketMode,
    blocks_as_text,
    bot_env,
    click,
    payload,
)


@pytest.fixture(scope="module")
def fake():
    slack = FakeSlack()
    slack.socket = FakeSocketMode()
    yield slack
    slack.close()


@pytest.fixture(scope="module")
def bot(fake, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("socket-bot")
    # `dynodoc run` is what `make run` starts: with tokens set it serves Slack (here in Socket Mode).
    process = BotProcess(
        ["run"], bot_env(fake, cwd / "dynodoc.db", SLACK_APP_TOKEN=APP_TOKEN, SLACK_SIGNING_SECRET=""), cwd
    )
    fake.socket.wait_connected()
    yield process
    assert process.stop() == 0, process.stderr
    assert "Traceback" not in process.stderr, process.stderr
    assert APP_TOKEN not in process.stderr and BOT_TOKEN not in process.stderr
    assert fake.rejected == [], fake.rejected


def envelope(envelope_id: str, kind: str, body: dict, retry: int = 0) -> dict:
    return {
        "envelope_id": envelope_id,
        "type": kind,
        "payload": body,
        "accepts_response_payload": kind != "events_api",
        "retry_attempt": retry,
        "retry_reason": "timeout" if retry else "",
    }


def test_it_connects_with_the_app_token(bot, fake):
    [opened] = fake.wait_for("apps.connections.open")[:1]
    assert opened.auth == f"Bearer {APP_TOKEN}"
    assert fake.calls_to("auth.test")[0].auth == f"Bearer {BOT_TOKEN}"


def test_an_event_is_acknowledged_and_answered_in_its_thread(bot, fake):
    data = payload(
        "event_app_mention",
        event_id="EvSOCKET0001",
        event={"channel": "C0SOCKET1", "text": f"<@{BOT_USER_ID}> what is h12"},
    )
    fake.socket.send(envelope("env-1", "events_api", data))
    assert fake.socket.wait_ack("env-1") == {"envelope_id": "env-1"}
    [call] = fake.wait_for("chat.postMessage", channel="C0SOCKET1")
    assert call.params["thread_ts"] == data["event"]["ts"]
    assert call.params["text"].startswith("H12 — Request timeout")
    assert call.params["blocks"][0]["type"] == "header"


def test_a_redelivered_envelope_is_acknowledged_but_not_answered_again(bot, fake):
    data = payload("event_app_mention", event_id="EvSOCKET0002", event={"channel": "C0SOCKET2"})
    fake.socket.send(envelope("env-2a", "events_api", data))
    fake.wait_for("chat.postMessage", channel="C0SOCKET2")
    fake.socket.send(envelope("env-2b", "events_api", data, retry=1))
    assert fake.socket.wait_ack("env-2b") == {"envelope_id": "env-2b"}
    # A marker sent after the redelivery: once it is answered, the redelivery has had its turn.
    marker = payload(
        "event_message_im", event_id="EvSOCKET0002M", event={"channel": "D0SOCKET2M", "text": "what is H10"}
    )
    fake.socket.send(envelope("env-2m", "events_api", marker))
    fake.wait_for("chat.postMessage", channel="D0SOCKET2M")
    assert len(fake.calls_to("chat.postMessage", channel="C0SOCKET2")) == 1


def test_a_slash_command_is_answered_in_its_ack(bot, fake):
    fake.socket.send(envelope("env-3", "slash_commands", {**payload("slash_command"), "text": "R15"}))
    ack = fake.socket.wait_ack("env-3")
    assert ack["payload"]["response_type"] == "ephemeral"
    assert ack["payload"]["text"].startswith("R15 — Memory quota vastly exceeded")
    assert ack["payload"]["blocks"][0]["text"]["text"] == "R15 — Memory quota vastly exceeded"


def test_the_shortcut_works_over_the_socket(bot, fake):
    data = payload(
        "message_action",
        channel={"id": "C0SOCKET4", "name": "incidents"},
        response_url=fake.response_url("socket-shortcut"),
    )
    fake.socket.send(envelope("env-4", "interactive", data))
    assert fake.socket.wait_ack("env-4")["envelope_id"] == "env-4"
    [call] = fake.wait_for("chat.postMessage", channel="C0SOCKET4")
    assert call.params["thread_ts"] == data["message"]["ts"]
    assert "R14" in call.params["text"]


def test_a_card_button_arrives_over_the_socket_and_is_acknowledged_and_handled(bot, fake):
    data = payload(
        "event_app_mention",
        event_id="EvSOCKET0006",
        event={"channel": "C0SOCKET6", "text": f"<@{BOT_USER_ID}> what is r14"},
    )
    fake.socket.send(envelope("env-6", "events_api", data))
    [card] = fake.wait_for("chat.postMessage", channel="C0SOCKET6")
    ts = fake.history["C0SOCKET6"][-1][0]["ts"]
    clicked = click(
        card.params["blocks"],
        "more",
        channel="C0SOCKET6",
        message_ts=ts,
        thread_ts=data["event"]["ts"],
        response_url=fake.response_url("socket-more"),
    )
    fake.socket.send(envelope("env-7", "interactive", clicked))
    assert fake.socket.wait_ack("env-7")["envelope_id"] == "env-7"
    [update] = fake.wait_for("chat.update", channel="C0SOCKET6")
    assert update.params["ts"] == ts and "*What to do*" in blocks_as_text(update.params["blocks"])


def test_after_slack_asks_it_to_reconnect_it_keeps_answering(bot, fake):
    mark = fake.mark()
    connections = fake.socket.connections
    fake.socket.send({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "fake"}})
    fake.wait_for("apps.connections.open", after=mark)
    fake.socket.wait_connections(connections + 1)
    data = payload(
        "event_message_im", event_id="EvSOCKET0005", event={"channel": "D0SOCKET5", "text": "PC01"}
    )
    fake.socket.send(envelope("env-5", "events_api", data))
    [call] = fake.wait_for("chat.postMessage", channel="D0SOCKET5")
    assert call.params["text"].startswith("PC01")
