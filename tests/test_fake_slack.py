"""The fake Slack refuses what the real one refuses, so that the bot's formatting and API mistakes fail the
tests. Driven through the real slack_sdk WebClient and WebhookClient, as the bot drives it."""

from __future__ import annotations

import pytest
from fakes.slack import BOT_TOKEN, FakeSlack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient


@pytest.fixture(scope="module")
def fake():
    slack = FakeSlack()
    yield slack
    slack.close()


@pytest.fixture
def client(fake):
    return WebClient(token=BOT_TOKEN, base_url=fake.api_url)


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def refused(client: WebClient, **message) -> str:
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C0RULES", text="fallback", **message)
    return caught.value.response["error"]


@pytest.mark.parametrize(
    "blocks",
    [
        [section("x")] * 51,
        [section("x" * 3001)],
        [section("")],
        [{"type": "section"}],
        [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
        [{"type": "header", "text": {"type": "mrkdwn", "text": "*bold*"}}],
        [{"type": "context", "elements": []}],
        [
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "x" * 76}}
                ],
            }
        ],
        [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "a",
                        "text": {"type": "plain_text", "text": "ok"},
                        "value": "v" * 2001,
                    }
                ],
            }
        ],
        [{**section("a"), "block_id": "same"}, {**section("b"), "block_id": "same"}],
    ],
    ids=[
        "51-blocks",
        "section-3001",
        "empty-section",
        "section-without-text",
        "header-151",
        "header-mrkdwn",
        "empty-context",
        "button-label-76",
        "button-value-2001",
        "duplicate-block-id",
    ],
)
def test_invalid_blocks_are_refused_and_recorded(fake, client, blocks):
    before = len(fake.rejected)
    assert refused(client, blocks=blocks) == "invalid_blocks"
    assert len(fake.rejected) == before + 1


def test_the_limits_themselves_pass(client):
    ok = [{"type": "header", "text": {"type": "plain_text", "text": "x" * 150}}, section("y" * 2900)]
    assert client.chat_postMessage(channel="C0RULES", text="t", blocks=ok)["ok"]
    assert client.chat_postMessage(channel="C0RULES", text="t", blocks=[section("z")] * 50)["ok"]


def test_too_many_characters_of_blocks_is_msg_blocks_too_long(client):
    assert refused(client, blocks=[section("y" * 2900)] * 5) == "msg_blocks_too_long"


def test_a_message_with_neither_text_nor_blocks_is_no_text(client):
    with (
        pytest.raises(SlackApiError) as caught,
        pytest.warns(UserWarning, match="`text` argument is missing"),
    ):
        client.chat_postMessage(channel="C0RULES", text="")
    assert caught.value.response["error"] == "no_text"


def test_a_response_url_refuses_invalid_blocks_too(fake):
    answer = WebhookClient(fake.response_url("rules")).send(text="t", blocks=[section("")])
    assert answer.status_code == 400 and answer.body == "invalid_blocks"


@pytest.mark.parametrize(
    "channel, allowed", [("C0PUBLIC", False), ("G0PRIVATE", False), ("D0DM", True), ("G0GROUP", True)]
)
def test_conversations_replies_is_for_dms_and_group_dms_only(fake, client, channel, allowed):
    fake.channel_types["G0GROUP"] = "mpim"
    fake.add_message(channel, "1715680000.000100", "the parent")
    if allowed:
        assert (
            client.conversations_replies(channel=channel, ts="1715680000.000100")["messages"][0]["text"]
            == "the parent"
        )
    else:
        with pytest.raises(SlackApiError) as caught:
            client.conversations_replies(channel=channel, ts="1715680000.000100")
        assert caught.value.response["error"] == "method_not_supported_for_channel_type"


def test_conversations_history_finds_one_message_by_latest_inclusive(fake, client):
    for ts, text in (
        ("1715680000.000100", "first"),
        ("1715680005.000100", "second"),
        ("1715680009.000100", "third"),
    ):
        fake.add_message("C0HIST", ts, text)
    fake.add_message("C0HIST", "1715680006.000100", "a reply", thread_ts="1715680005.000100")
    got = client.conversations_history(channel="C0HIST", latest="1715680005.000100", inclusive=True, limit=1)
    assert [m["text"] for m in got["messages"]] == ["second"]
    got = client.conversations_history(channel="C0HIST", latest="1715680005.000100", limit=1)
    assert [m["text"] for m in got["messages"]] == ["first"]  # without inclusive, latest itself is left out
    assert [m["text"] for m in client.conversations_history(channel="C0HIST")["messages"]] == [
        "third",
        "second",
        "first",
    ]


def test_chat_update_changes_a_posted_message_and_refuses_an_unknown_one(fake, client):
    ts = client.chat_postMessage(channel="C0UPD", text="before", blocks=[section("before")])["ts"]
    client.chat_update(channel="C0UPD", ts=ts, text="after", blocks=[section("after")])
    assert fake.history["C0UPD"][-1][0]["blocks"] == [section("after")]
    with pytest.raises(SlackApiError) as caught:
        client.chat_update(channel="C0UPD", ts="1.000001", text="x")
    assert caught.value.response["error"] == "message_not_found"
