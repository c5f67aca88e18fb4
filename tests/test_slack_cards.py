"""Cards and their buttons, end to end: the real `dynodoc serve --http` against the fake Slack Web API, with
signed events and signed `block_actions` payloads (whose `response_url` points at the fake), and
`dynodoc status` run on the same database afterwards.

This is issue 13's check: a question mentioned in a channel gets a threaded card of at most 700 visible
characters with a "Show more" button; clicking it gives the full details; the same question in a DM is
answered inline; 👍 on a card is stored and shows up in `dynodoc status`.
"""

from __future__ import annotations

import json
import time

import pytest
from clirun import dynodoc
from fakes.slack import (
    BOT_TOKEN,
    BOT_USER_ID,
    BotProcess,
    FakeSlack,
    blocks_as_text,
    button,
    click,
    engine_env,
    payload,
    post_event,
    post_form,
)

from bot.render.mrkdwn import visible_length
from bot.store import Store

QUESTION = "what is H12?"


@pytest.fixture(scope="module")
def fake(bot_db):
    """A fake Slack per engine's bot, so that one bot's posts never count as the other's."""
    slack = FakeSlack()
    yield slack
    slack.close()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("cards")


@pytest.fixture(scope="module")
def bot_process(bot_db, fake, workdir):
    """The bot, logging at DEBUG: its decisions not to answer are what the negative tests wait for."""
    process, _ = BotProcess.http(fake, workdir, DYNODOC_LOG_LEVEL="DEBUG", **engine_env(bot_db))
    yield process
    assert process.stop() == 0, process.stderr
    assert "Traceback" not in process.stderr, process.stderr
    assert BOT_TOKEN not in process.stderr
    assert QUESTION not in process.stderr  # what people ask is not logged
    assert fake.rejected == [], fake.rejected


@pytest.fixture(scope="module")
def bot(bot_process) -> int:
    """The bot's port."""
    return bot_process.port


@pytest.fixture
def slack(fake):
    fake.faults.clear()
    return fake


_ids = iter(range(1, 10_000))


def unique(prefix: str) -> str:
    return f"{prefix}{next(_ids):04d}"


def mention(slack: FakeSlack, bot: int, text: str = QUESTION, channel: str = "") -> tuple[dict, dict]:
    """Mention the bot in a channel; returns the event and the card it posted."""
    channel = channel or unique("C0CARD")
    data = payload(
        "event_app_mention",
        event_id=unique("Ev"),
        event={"channel": channel, "text": f"<@{BOT_USER_ID}> {text}"},
    )
    assert post_event(bot, data).status == 200
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    return data["event"], {**call.params, "ts": slack.history[channel][-1][0]["ts"]}


def responses(slack: FakeSlack, key: str, count: int = 1, timeout: float = 10.0) -> list:
    """The posts to the response_url named `key`, once there are `count` of them."""
    deadline = time.monotonic() + timeout
    while True:
        found = [c for c in slack.calls_to("response_url") if c.path.endswith(f"/{key}")]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, f"{len(found)} post(s) to {key}: {[c.params for c in found]}"
            return found
        time.sleep(0.02)


def press(bot: int, blocks: list[dict], label: str, **where) -> float:
    """Click a button as Slack would (a signed form POST); returns how long the acknowledgement took."""
    started = time.monotonic()
    response = post_form(bot, {"payload": json.dumps(click(blocks, label, **where))})
    assert response.status == 200
    return time.monotonic() - started


# --- the card, Show more, Show less ---------------------------------------------------------------------------


def test_a_channel_question_gets_a_threaded_card_and_show_more_expands_it(bot, slack):
    event, card = mention(slack, bot)
    channel = event["channel"]
    assert card["thread_ts"] == event["ts"]
    blocks = card["blocks"]
    assert len(blocks) <= 6 and visible_length(blocks) <= 700
    assert blocks[0]["type"] == "header" and blocks[-1]["type"] == "actions"
    assert "more" in button(blocks, "more")["text"]["text"].lower()
    key = unique("r")
    where = {
        "channel": channel,
        "message_ts": card["ts"],
        "thread_ts": event["ts"],
        "response_url": slack.response_url(key),
    }

    press(bot, blocks, "more", **where)
    [update] = slack.wait_for("chat.update", channel=channel)
    assert update.params["ts"] == card["ts"]
    full = blocks_as_text(update.params["blocks"])
    for part in (
        "## H12 — Request timeout",
        "*What to do*",
        "*Likely causes*",
        "*Good to know*",
        "*Looks like*",
    ):
        assert part in full
    assert "[ Show less ] [ 👍 ] [ 👎 ]" in full
    assert visible_length(update.params["blocks"]) > 1_200
    assert len(slack.calls_to("chat.postMessage", channel=channel)) == 1  # it all fit in the card itself

    press(bot, update.params["blocks"], "less", **where)
    updates = slack.wait_for("chat.update", count=2, channel=channel)
    assert updates[1].params["blocks"] == blocks  # folded back to the card as posted
    assert [c for c in slack.calls if c.method == "response_url" and c.path.endswith(key)] == []


def test_the_same_question_in_a_dm_is_answered_inline(bot, slack):
    channel = unique("D0CARD")
    data = payload("event_message_im", event_id=unique("Ev"), event={"channel": channel, "text": QUESTION})
    post_event(bot, data)
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert "thread_ts" not in call.params
    assert call.params["blocks"][0]["text"]["text"] == "H12 — Request timeout"
    assert visible_length(call.params["blocks"]) <= 700


def test_a_question_asked_in_a_dm_thread_is_answered_in_that_thread(bot, slack):
    channel = unique("D0CARD")
    data = payload(
        "event_message_im",
        event_id=unique("Ev"),
        event={
            "channel": channel,
            "text": "and r14?",
            "ts": "1715690001.000002",
            "thread_ts": "1715690000.000001",
        },
    )
    post_event(bot, data)
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert call.params["thread_ts"] == "1715690000.000001"


def test_every_action_is_acknowledged_at_once_even_when_slack_is_slow(bot, slack):
    event, card = mention(slack, bot, "r14")
    # The work after the click takes longer than Slack waits.
    slack.fail("chat.update", delay=4.0, times=1, channel=event["channel"])
    took = press(
        bot,
        card["blocks"],
        "more",
        channel=event["channel"],
        message_ts=card["ts"],
        thread_ts=event["ts"],
        response_url=slack.response_url(unique("slow")),
    )
    assert took < 1.0  # acknowledged long before Slack's 3 seconds
    slack.wait_for("chat.update", channel=event["channel"], timeout=15)


def test_show_more_on_a_card_whose_details_are_gone_says_so(bot, slack):
    event, card = mention(slack, bot, "h10")
    forged = json.loads(json.dumps(card["blocks"]))
    more = button(forged, "more")
    more["value"] = json.dumps({**json.loads(more["value"]), "id": "0000000000000000"})
    key = unique("gone")
    press(
        bot,
        forged,
        "more",
        channel=event["channel"],
        message_ts=card["ts"],
        response_url=slack.response_url(key),
    )
    [note] = responses(slack, key)
    assert note.params["text"].startswith("I no longer have the rest of that answer")
    assert note.params["replace_original"] is False and note.params["response_type"] == "ephemeral"
    assert slack.calls_to("chat.update", channel=event["channel"]) == []


def test_a_click_with_a_forged_value_is_acknowledged_and_ignored(bot, bot_process, slack):
    event, card = mention(slack, bot, "h13")
    forged = json.loads(json.dumps(card["blocks"]))
    for element in forged[-1]["elements"]:
        element["value"] = "not a card"
    key = unique("forged")
    mark = bot_process.log_mark()
    press(
        bot,
        forged,
        "👍",
        channel=event["channel"],
        message_ts=card["ts"],
        response_url=slack.response_url(key),
    )
    # The listener found no card in the click and stopped there: nothing to answer, nothing stored.
    bot_process.wait_log("a click with no card in it (action dynodoc_up)", after=mark)
    assert [c for c in slack.calls if c.path.endswith(key)] == []


# --- Share -----------------------------------------------------------------------------------------------------


def test_a_slash_command_answer_is_shared_to_its_channel(bot, slack):
    key = unique("share")
    fields = {**payload("slash_command"), "text": "r15", "response_url": slack.response_url(key)}
    body = post_form(bot, fields).json()
    assert body["response_type"] == "ephemeral"
    press(
        bot,
        body["blocks"],
        "Share to channel",
        channel="C0INCIDENT",
        message_ts=None,
        response_url=slack.response_url(key),
    )
    calls = responses(slack, key, 2)
    shared, deleted = calls[0].params, calls[1].params
    assert shared["response_type"] == "in_channel" and shared["replace_original"] is False
    text = blocks_as_text(shared["blocks"])
    assert text.startswith("## R15 — Memory quota vastly exceeded\n   :mega: Shared by <@U0ALICE>")
    assert "[ Show more ] [ 👍 ] [ 👎 ]" in text  # shared once, nothing left to share
    assert deleted["delete_original"] is True


def test_a_dm_answer_is_shared_to_the_channel_picked(bot, slack):
    channel = unique("D0SHARE")
    post_event(
        bot, payload("event_message_im", event_id=unique("Ev"), event={"channel": channel, "text": "pc01"})
    )
    [card] = slack.wait_for("chat.postMessage", channel=channel)
    ts = slack.history[channel][-1][0]["ts"]
    key = unique("pick")
    press(
        bot,
        card.params["blocks"],
        "Share to channel",
        channel=channel,
        message_ts=ts,
        response_url=slack.response_url(key),
        selected="C0PICKED",
    )
    [posted] = slack.wait_for("chat.postMessage", channel="C0PICKED")
    text = blocks_as_text(posted.params["blocks"])
    assert text.startswith("## PC01 — ") and "Shared by <@U0ALICE>" in text and "Share to channel" not in text
    [note] = responses(slack, key)
    assert note.params["text"] == ":white_check_mark: Shared in <#C0PICKED>."


def test_sharing_to_a_channel_the_bot_is_not_in_says_how_to_fix_it(bot, slack):
    channel = unique("D0SHARE")
    post_event(
        bot, payload("event_message_im", event_id=unique("Ev"), event={"channel": channel, "text": "h14"})
    )
    [card] = slack.wait_for("chat.postMessage", channel=channel)
    slack.fail(
        "chat.postMessage", body={"ok": False, "error": "not_in_channel"}, times=1, channel="C0OUTSIDE"
    )
    key = unique("nope")
    press(
        bot,
        card.params["blocks"],
        "Share to channel",
        channel=channel,
        message_ts=slack.history[channel][-1][0]["ts"],
        response_url=slack.response_url(key),
        selected="C0OUTSIDE",
    )
    [note] = responses(slack, key)
    assert note.params["text"].startswith(
        "I can't post in <#C0OUTSIDE>: add me there with `/invite @Dyno Doctor`"
    )


# --- 👍 / 👎 -----------------------------------------------------------------------------------------------------


def test_a_thumbs_up_is_stored_by_fingerprint_and_counted_in_dynodoc_status(bot, slack, fake, bot_db):
    event, card = mention(slack, bot, "why is my dyno swapping memory")
    key = unique("up")
    where = {"channel": event["channel"], "message_ts": card["ts"], "response_url": slack.response_url(key)}
    press(bot, card["blocks"], "👍", **where)
    [thanks] = responses(slack, key)
    assert thanks.params["text"].startswith(":+1: Thanks") and thanks.params["response_type"] == "ephemeral"
    press(bot, card["blocks"], "👍", **where)  # the same person again: still one vote
    responses(slack, key, 2)

    # Two people dislike another answer: it is listed for a second look.
    event2, card2 = mention(slack, bot, "our fly deploy is broken")
    for user in ("U0BOB", "U0CAROL"):
        press(
            bot,
            card2["blocks"],
            "👎",
            channel=event2["channel"],
            message_ts=card2["ts"],
            response_url=slack.response_url(unique("down")),
            user=user,
        )
    deadline = time.monotonic() + 10
    store = Store(bot_db)
    while time.monotonic() < deadline:
        votes = [
            tuple(row) for row in store.query("SELECT kind, fingerprint, label, vote, user_id FROM feedback")
        ]
        if len(votes) == 3:
            break
        time.sleep(0.05)
    store.close()
    assert sorted(v[3] for v in votes) == [-1, -1, 1]
    # Filed under a hash of the question: the words themselves are nowhere in the table.
    assert all(
        len(v[1]) == 32
        and "swapping" not in " ".join(map(str, v))
        and "fly deploy" not in " ".join(map(str, v))
        for v in votes
    )

    status = dynodoc("status", env={**engine_env(bot_db), "NO_PROXY": "127.0.0.1,localhost"})
    assert status.returncode == 0, status.stderr
    assert "feedback        👍 1 · 👎 2" in status.stdout
    assert "disliked: unsure fly-not-listening fly-health-checks crash-loop (question " in status.stdout
    assert "👎 2, 👍 0" in status.stdout

    # And in Slack: /dynodoc status and the App Home show the same counts.
    text = blocks_as_text(post_form(bot, {**payload("slash_command"), "text": "status"}).json()["blocks"])
    assert "*Feedback*\n:+1: 1 · :-1: 2" in text and "`unsure fly-not-listening" in text
    user = unique("U0HOME")
    post_event(bot, payload("event_app_home_opened", event_id=unique("Ev"), event={"user": user}))
    [home] = slack.wait_for("views.publish", user_id=user)
    assert "*Feedback*\n:+1: 1 · :-1: 2" in blocks_as_text(home.params["view"]["blocks"])


# --- group DMs and thread parents ---------------------------------------------------------------------------------


def test_a_group_dm_mention_is_answered_once_in_its_thread(bot, bot_process, slack):
    channel = unique("G0MPIM")
    slack.channel_types[channel] = "mpim"
    base = payload("event_message_mpim")["event"]
    ts = "1715691000.000001"
    post_event(
        bot,
        payload("event_message_mpim", event_id=unique("Ev"), event={**base, "channel": channel, "ts": ts}),
    )
    post_event(
        bot,
        payload(
            "event_app_mention",
            event_id=unique("Ev"),
            event={"channel": channel, "ts": ts, "text": base["text"]},
        ),
    )
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert call.params["thread_ts"] == ts and call.params["text"].startswith("H12")
    # Both listeners are done: one answered (one card), the other saw it answered.
    bot_process.wait_log(f"answered message {ts} in {channel} (1 message(s))")
    bot_process.wait_log(f"no reply to message {ts} in {channel}: already answered")
    assert len(slack.calls_to("chat.postMessage", channel=channel)) == 1


def test_in_a_group_dm_a_bare_mention_reads_the_thread_parent(bot, slack):
    channel = unique("G0MPIM")
    slack.channel_types[channel] = "mpim"
    paste = '2024-05-14T09:11:03.402117+00:00 heroku[router]: at=error code=H12 desc="Request timeout" method=GET path="/a_b" dyno=web.1 service=30000ms status=503'
    slack.add_message(channel, "1715692000.000001", paste)
    data = payload(
        "event_app_mention",
        event_id=unique("Ev"),
        event={
            "channel": channel,
            "ts": "1715692001.000002",
            "thread_ts": "1715692000.000001",
            "text": f"<@{BOT_USER_ID}> ?",
        },
    )
    post_event(bot, data)
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert call.params["thread_ts"] == "1715692000.000001"
    assert call.params["blocks"][0]["text"]["text"] == "H12 on web.1"
    assert slack.calls_to("conversations.history", channel=channel)
