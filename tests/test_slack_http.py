"""The Slack bot in HTTP mode, end to end: `dynodoc serve --http` as a subprocess, signed requests in
Slack's real shapes POSTed to it, and what it sent to a fake Slack Web API read back.

One bot process serves the whole module (it starts in a fraction of a second, but forty starts would
not); each test uses its own event ids and conversation ids, so tests never see each other's replies.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
from fakes.slack import (
    BOT_TOKEN,
    BOT_USER_ID,
    BotProcess,
    FakeSlack,
    blocks_as_text,
    button,
    click,
    engine_env,
    get,
    payload,
    post,
    post_event,
    post_form,
)

from bot.store import LineRecord, PollRun, Store, iso

AUTO_CHANNEL = "C0AUTODIAG"
H12 = (
    '2024-05-14T09:11:03.402117+00:00 heroku[router]: at=error code=H12 desc="Request timeout" method=GET '
    'path="/reports/77/export" host=acme.herokuapp.com request_id=0d5c fwd="203.0.113.7" dyno=web.1 '
    "connect=1ms service=30000ms status=503 bytes=0 protocol=https"
)
R10_H10 = (
    "2024-05-14T03:07:01.000000+00:00 app[web.1]: Listening on http://127.0.0.1:5000\n"
    "2024-05-14T03:08:00.000000+00:00 heroku[web.1]: Error R10 (Boot timeout) -> Web process failed to bind "
    "to $PORT within 60 seconds of launch\n"
    '2024-05-14T03:08:05.518094+00:00 heroku[router]: at=error code=H10 desc="App crashed" method=GET path="/" '
    'host=acme.herokuapp.com request_id=e6ea fwd="198.51.100.23" dyno= connect= service= status=503 bytes= '
    "protocol=https\n"
)
# One line for each of 21 router codes: a diagnosis too long for one Slack message.
MANY_CODES = "\n".join(
    f'2024-05-14T09:00:{i:02d}.000000+00:00 heroku[router]: at=error code={code} desc="x" status=503'
    for i, code in enumerate(
        "H10 H11 H12 H13 H14 H15 H17 H18 H19 H20 H21 H22 H24 H25 H26 H27 H28 H80 H81 H82 H99".split()
    )
)


@pytest.fixture(scope="module")
def fake(bot_db):
    """A fake Slack per engine's bot, so that one bot's posts never count as the other's."""
    slack = FakeSlack()
    yield slack
    slack.close()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("bot")


@pytest.fixture(scope="module")
def bot_process(bot_db, fake, workdir):
    """The bot, logging at DEBUG: its decisions not to answer are what the negative tests wait for."""
    engine = engine_env(bot_db)
    process, _ = BotProcess.http(
        fake,
        workdir,
        DYNODOC_AUTODIAGNOSE_CHANNELS=AUTO_CHANNEL,
        DYNODOC_APPS="heroku:acme-api,fly:acme-edge",
        DYNODOC_LOG_LEVEL="DEBUG",
        **engine,
    )
    yield process
    code = process.stop()
    assert code == 0, process.stderr
    assert "Traceback" not in process.stderr, process.stderr
    assert BOT_TOKEN not in process.stderr
    # Nothing the bot sent would have been refused by the real Slack.
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


def event(name: str, **changes) -> dict:
    """A payload with a fresh event_id and the given event fields."""
    return payload(name, event_id=unique("Ev"), event=changes)


def posts_in(fake: FakeSlack, channel: str) -> list:
    return fake.calls_to("chat.postMessage", channel=channel)


def section_texts(blocks: list[dict]) -> str:
    return blocks_as_text(blocks)


def visible_chars(blocks: list[dict]) -> int:
    from bot.render.mrkdwn import visible_length

    return visible_length(blocks)


# --- plumbing -------------------------------------------------------------------------------------------


def test_health_check_answers_ok(bot):
    assert get(bot, "/healthz").status == 200
    assert get(bot, "/healthz").body == b"ok\n"
    assert get(bot, "/nothing-here").status == 404


def test_a_stalled_request_does_not_hold_up_the_others(bot):
    # One thread per request: a client that never finishes its body cannot block Slack's next event.
    with socket.create_connection(("127.0.0.1", bot)) as stalled:
        stalled.sendall(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\n\r\n{")
        started = time.monotonic()
        assert get(bot, "/healthz").status == 200
        assert time.monotonic() - started < 1


def test_an_unsigned_malformed_body_is_refused_before_it_is_read(bot):
    # The signature is checked before anything parses the body: unsigned junk is a 401, never a 500.
    assert (
        post(
            bot, "/slack/events", b'{"type": "event_callback", ', {"Content-Type": "application/json"}
        ).status
        == 401
    )


@pytest.mark.parametrize(
    "body, headers",
    [
        (b"[1]", {}),
        (b"null", {}),
        (b"[" * 100_000 + b"]" * 100_000, {}),
        (b"payload=null", {}),
        (b'{"type": "event_callback"}', {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"}),
        (
            b'{"type": "event_callback"}',
            {"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": "v0=00"},
        ),
    ],
    ids=["array", "null", "deep", "form-null", "timestamp-abc", "timestamp-400-digits"],
)
def test_junk_gets_4xx_and_no_traceback(bot, body, headers):
    response = post(bot, "/slack/events", body, {"Content-Type": "application/json", **headers})
    assert 400 <= response.status < 500


def test_url_verification_echoes_the_challenge(bot):
    response = post_event(bot, payload("url_verification"))
    assert response.status == 200
    assert response.json()["challenge"] == payload("url_verification")["challenge"]


def test_a_bad_signature_is_refused(bot, bot_process, slack):
    channel = unique("C0SIG")
    data = event("event_app_mention", channel=channel)
    mark = bot_process.log_mark()
    response = post_event(bot, data, secret="not-the-secret")
    assert response.status == 401
    # Refused before Bolt reads the body: no listener was started for it.
    bot_process.wait_log("refused a request from 127.0.0.1: missing or bad Slack signature", after=mark)
    assert posts_in(slack, channel) == []
    # Nor did it reach the redelivery check: the real delivery of that event is answered, not dropped as a
    # retry (a forged request cannot use up an event id).
    mark = bot_process.log_mark()
    assert post_event(bot, data).status == 200
    bot_process.wait_log(f"answered message {data['event']['ts']} in {channel} (1 message(s))", after=mark)
    assert f"dropped retried event {data['event_id']}" not in bot_process.stderr
    assert len(posts_in(slack, channel)) == 1


def test_a_request_signed_ten_minutes_ago_is_refused(bot, bot_process, slack):
    channel = unique("C0OLD")
    mark = bot_process.log_mark()
    response = post_event(bot, event("event_app_mention", channel=channel), timestamp=int(time.time()) - 600)
    assert response.status == 401
    bot_process.wait_log("refused a request from 127.0.0.1: missing or bad Slack signature", after=mark)
    assert posts_in(slack, channel) == []


def test_a_huge_request_is_refused_before_its_body_is_read(bot):
    conn = http.client.HTTPConnection("127.0.0.1", bot, timeout=10)
    conn.putrequest("POST", "/slack/events")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", "50000000")
    conn.endheaders()  # and no body: the answer must not wait for 50 MB
    assert conn.getresponse().status == 413
    conn.close()


# --- mentions and DMs -----------------------------------------------------------------------------------


def test_a_question_mention_is_answered_in_its_thread(bot, bot_process, slack):
    channel = unique("C0MENTION")
    data = event("event_app_mention", channel=channel, text=f"<@{BOT_USER_ID}> what is R15?")
    assert post_event(bot, data).status == 200
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert call.auth == f"Bearer {BOT_TOKEN}"
    assert call.params["thread_ts"] == data["event"]["ts"]
    assert call.params["text"].startswith("R15 — Memory quota vastly exceeded")
    blocks = call.params["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "emoji": True, "text": "R15 — Memory quota vastly exceeded"},
    }
    # A card: one sentence, the first fix, whose side, the docs, the buttons.
    assert len(blocks) <= 6 and visible_chars(blocks) <= 700
    text = section_texts(blocks)
    assert "*First fix:* Find what was running just before the kill with `heroku logs" in text
    assert "On your app's side" in text and "severity high" in text
    assert "|Heroku docs>" in text and "<https://devcenter.heroku.com/" in text
    assert "[ Show more ] [ 👍 ] [ 👎 ]" in text  # in a channel everyone sees it: nothing to share
    assert call.params["unfurl_links"] is False
    # 👀 while working, taken back afterwards.
    slack.wait_for("reactions.remove", channel=channel)
    [added] = slack.calls_to("reactions.add", channel=channel)
    assert {k: added.params[k] for k in ("channel", "timestamp", "name")} == {
        "channel": channel,
        "timestamp": data["event"]["ts"],
        "name": "eyes",
    }
    # Its listener is done (this line comes after its last post): one card, nothing after it.
    bot_process.wait_log(f"answered message {data['event']['ts']} in {channel} (1 message(s))")
    assert len(posts_in(slack, channel)) == 1


def test_a_mention_inside_a_thread_is_answered_in_that_thread(bot, slack):
    channel = unique("C0THREAD")
    data = event(
        "event_app_mention",
        channel=channel,
        ts="1715680001.000200",
        thread_ts="1715680000.000100",
        text=f"<@{BOT_USER_ID}> h12?",
    )
    post_event(bot, data)
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert call.params["thread_ts"] == "1715680000.000100"
    assert call.params["text"].startswith("H12 — Request timeout")


def test_a_bare_mention_under_a_paste_diagnoses_the_paste(bot, slack):
    channel = unique("C0UNDER")
    slack.add_message(channel, "1715680000.000100", f"prod is down!!\n```{R10_H10}```")
    data = event(
        "event_app_mention",
        channel=channel,
        ts="1715680001.000200",
        thread_ts="1715680000.000100",
        text=f"<@{BOT_USER_ID}> what's this?",
    )
    post_event(bot, data)
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert call.params["thread_ts"] == "1715680000.000100"
    assert "Start with R10" in call.params["text"]
    # The parent is read the way bot tokens may read it in a channel; replies is never needed here.
    [history] = slack.calls_to("conversations.history", channel=channel)
    assert (history.params["latest"], str(history.params["limit"])) == ("1715680000.000100", "1")
    assert str(history.params["inclusive"]).lower() in ("1", "true")  # slack_sdk sends True as 1
    assert slack.calls_to("conversations.replies", channel=channel) == []


def test_a_bare_mention_under_an_unreadable_parent_says_so_in_one_line(bot, slack):
    channel = unique("C0GONE")  # nothing posted there: history finds nothing, replies is refused in a channel
    data = event(
        "event_app_mention",
        channel=channel,
        ts="1715680001.000200",
        thread_ts="1715680000.000100",
        text=f"<@{BOT_USER_ID}> what's this?",
    )
    post_event(bot, data)
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert call.params["thread_ts"] == "1715680000.000100"
    assert call.params["text"].startswith("I couldn't read the message that started this thread (")
    assert "method_not_supported_for_channel_type" in call.params["text"]
    assert "Try:" not in call.params["text"]  # not the help text
    assert len(call.params["blocks"]) == 1


def test_in_a_dm_thread_the_parent_comes_from_replies_when_history_fails(bot, slack):
    channel = unique("D0THREAD")
    slack.add_message(channel, "1715680000.000100", f"```{R10_H10}```")
    slack.fail(
        "conversations.history", body={"ok": False, "error": "missing_scope"}, times=1, channel=channel
    )
    data = event(
        "event_message_im", channel=channel, ts="1715680001.000200", thread_ts="1715680000.000100", text="?"
    )
    post_event(bot, data)
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert call.params["thread_ts"] == "1715680000.000100"  # asked in a thread, answered there
    assert "Start with R10" in call.params["text"]
    assert slack.calls_to("conversations.replies", channel=channel)[0].params["ts"] == "1715680000.000100"


def test_a_question_in_a_thread_is_still_answered_as_a_question(bot, slack):
    channel = unique("C0ASK")
    slack.add_message(channel, "1715680000.000100", f"```{R10_H10}```")
    data = event(
        "event_app_mention",
        channel=channel,
        ts="1715680001.000300",
        thread_ts="1715680000.000100",
        text=f"<@{BOT_USER_ID}> r14 vs r15?",
    )
    post_event(bot, data)
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert call.params["text"].startswith("R14 (Memory quota exceeded) vs R15")
    assert slack.calls_to("conversations.replies", channel=channel) == []


def test_a_pasted_log_mention_gets_the_diagnosis(bot, slack):
    channel = unique("C0PASTE")
    data = event("event_app_mention", channel=channel, text=f"<@{BOT_USER_ID}> what's this?\n```{R10_H10}```")
    post_event(bot, data)
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert call.params["thread_ts"] == data["event"]["ts"]
    assert "R10" in call.params["text"] and "H10" in call.params["text"]  # the summary is the fallback
    blocks = call.params["blocks"]
    assert len(blocks) <= 6 and visible_chars(blocks) <= 700
    text = section_texts(blocks)
    assert text.startswith("## R10 → H10 on web.1\nThe web process did not bind to $PORT")
    assert "*First fix:* Listen on `0.0.0.0:$PORT`" in text
    # The app's own line that gives it away is quoted as code.
    assert "`2024-05-14T03:07:01.000000+00:00 app[web.1]: Listening on http://127.0.0.1:5000`" in text
    assert "On your app's side" in text and "<!date^1715656080^" in text


def test_an_empty_mention_gets_help(bot, slack):
    channel = unique("C0EMPTY")
    post_event(bot, event("event_app_mention", channel=channel, text=f"<@{BOT_USER_ID}>"))
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert "Try:" in call.params["text"]


def test_a_direct_message_is_answered_without_a_mention(bot, slack):
    channel = unique("D0DM")
    data = event("event_message_im", channel=channel, text="r14 vs r15")
    post_event(bot, data)
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert "thread_ts" not in call.params  # in a DM the answer comes inline, where it is seen
    assert call.params["blocks"][0]["text"]["text"] == "R14 vs R15"
    text = section_texts(call.params["blocks"])
    assert "*`R14` Memory quota exceeded* · :hammer_and_wrench: on your app's side" in text
    assert "[ Share to channel… ▾ ]" in text  # a DM is private: a menu shares it to a channel


def test_a_retried_event_is_answered_once(bot, bot_process, slack):
    channel = unique("C0RETRY")
    data = event("event_app_mention", channel=channel)
    assert post_event(bot, data).status == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert post_event(bot, data, headers=retry).status == 200
    assert post_event(bot, data, headers={**retry, "X-Slack-Retry-Num": "2"}).status == 200
    # Each redelivery is dropped before it is acknowledged, so no listener runs for it ...
    bot_process.wait_log(f"dropped retried event {data['event_id']} (retry 1, http_timeout)")
    bot_process.wait_log(f"dropped retried event {data['event_id']} (retry 2, http_timeout)")
    # ... and the first delivery's listener, once done, has posted one answer.
    bot_process.wait_log(f"answered message {data['event']['ts']} in {channel} (1 message(s))")
    assert len(posts_in(slack, channel)) == 1


def test_a_retried_event_of_any_kind_is_handled_once(bot, bot_process, slack):
    user = unique("U0RETRY")
    data = event("event_app_home_opened", user=user)
    post_event(bot, data)
    post_event(bot, data, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    # The redelivery never reached a listener; the first delivery's listener publishes once.
    bot_process.wait_log(f"dropped retried event {data['event_id']} (retry 1, http_timeout)")
    slack.wait_for("views.publish", user_id=user)
    assert len(slack.calls_to("views.publish", user_id=user)) == 1


def test_a_rate_limited_reply_waits_and_is_sent(bot, slack):
    channel = unique("C0LIMIT")
    slack.fail(
        "chat.postMessage",
        status=429,
        body={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": "1"},
        times=1,
        channel=channel,
    )
    post_event(bot, event("event_app_mention", channel=channel))
    calls = slack.wait_for("chat.postMessage", count=2, channel=channel, timeout=10)
    assert calls[1].at - calls[0].at >= 0.9  # it waited for Retry-After
    assert calls[0].params["text"] == calls[1].params["text"]


def test_a_long_diagnosis_is_a_card_whose_show_more_fills_the_thread(bot, slack):
    channel = unique("C0LONG")
    data = event("event_app_mention", channel=channel, text=f"<@{BOT_USER_ID}>\n```{MANY_CODES}```")
    post_event(bot, data)
    [card] = slack.wait_for("chat.postMessage", channel=channel)
    assert card.params["thread_ts"] == data["event"]["ts"]
    blocks = card.params["blocks"]
    assert len(blocks) <= 6 and visible_chars(blocks) <= 700
    assert "21 event(s) in 21 line(s): H20×1, H10×1, H14×1, H11×1 …" in section_texts(blocks)
    ts = slack.history[channel][0][0]["ts"]
    key = unique("more")
    payload_ = click(
        blocks,
        "more",
        channel=channel,
        message_ts=ts,
        thread_ts=data["event"]["ts"],
        response_url=slack.response_url(key),
    )
    assert post_form(bot, {"payload": json.dumps(payload_)}).status == 200
    [update] = slack.wait_for("chat.update", channel=channel)
    assert update.params["ts"] == ts
    first = section_texts(update.params["blocks"])
    assert "*Found:*" in first and "• `H99`" in first and "follow in this thread" in first
    assert "[ Show less ]" in first
    rest = slack.wait_for("chat.postMessage", count=3, channel=channel)[1:]
    assert {c.params["thread_ts"] for c in rest} == {data["event"]["ts"]}
    for call in [update, *rest]:
        blocks = call.params["blocks"]
        assert len(blocks) <= 50
        assert len(json.dumps(blocks)) < 12_000
        assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    details = "".join(section_texts(c.params["blocks"]) for c in rest)
    assert details.count("|Docs>") == 21


# --- files ----------------------------------------------------------------------------------------------


def _file_event(fake: FakeSlack, name: str, data: bytes, **file_changes) -> dict:
    url = fake.add_file(name, data)
    base = payload("event_message_file_share")
    file = {
        **base["event"]["files"][0],
        "name": name,
        "title": name,
        "size": len(data),
        "url_private": url,
        "url_private_download": url,
        **file_changes,
    }
    return event("event_message_file_share", channel=unique("D0FILE"), files=[file])


def test_a_shared_log_file_is_downloaded_with_the_bot_token_and_diagnosed(bot, slack):
    data = _file_event(slack, unique("web") + ".log", R10_H10.encode())
    channel = data["event"]["channel"]
    post_event(bot, data)
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert "thread_ts" not in call.params  # a DM: inline
    assert "R10" in call.params["text"]
    [download] = [c for c in slack.calls_to("file") if c.params["name"] == data["event"]["files"][0]["name"]]
    assert download.auth == f"Bearer {BOT_TOKEN}"


def test_a_gzipped_log_file_is_read(bot, slack):
    data = _file_event(
        slack,
        unique("router") + ".log.gz",
        gzip.compress(((H12 + "\n") * 3).encode()),
        filetype="gzip",
        mode="hosted",
    )
    channel = data["event"]["channel"]
    post_event(bot, data)
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert "H12×3" in call.params["text"]


def test_a_file_over_the_cap_gets_a_clear_note_and_is_not_downloaded(bot, slack):
    name = unique("huge") + ".log"
    data = _file_event(slack, name, b"x", size=50_000_000)
    data["event"]["text"] = ""
    channel = data["event"]["channel"]
    post_event(bot, data)
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert f"`{name}` is 50.0 MB" in call.params["text"]
    assert "5.0 MB" in call.params["text"]
    assert "thread_ts" not in call.params
    assert [c for c in slack.calls_to("file") if c.params["name"] == name] == []


def test_an_image_is_not_downloaded(bot, slack):
    data = _file_event(
        slack, unique("screenshot") + ".png", b"\x89PNG", filetype="png", mimetype="image/png", mode="hosted"
    )
    data["event"]["text"] = "h10?"
    channel = data["event"]["channel"]
    post_event(bot, data)
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert call.params["text"].startswith("H10")
    assert [c for c in slack.calls_to("file") if c.params["name"].endswith(".png")] == []


def test_only_an_image_gets_a_note_on_what_files_are_read(bot, slack):
    data = _file_event(
        slack, unique("photo") + ".jpg", b"\xff\xd8", filetype="jpg", mimetype="image/jpeg", mode="hosted"
    )
    data["event"]["text"] = ""
    channel = data["event"]["channel"]
    post_event(bot, data)
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert "`.log`, `.txt`, `.json`, `.gz`" in call.params["text"]
    assert [c for c in slack.calls_to("file") if c.params["name"].endswith(".jpg")] == []


def test_a_mention_with_a_file_that_arrives_only_as_a_message_event_is_answered(bot, slack):
    # Slack may send a mention that shares a file only as message/file_share (bolt-python#925).
    data = _file_event(slack, unique("api") + ".log", (H12 + "\n").encode())
    data["event"].update(
        channel=unique("C0FILEMENTION"), channel_type="channel", text=f"<@{BOT_USER_ID}> why is this slow?"
    )
    post_event(bot, data)
    [call] = slack.wait_for("chat.postMessage", channel=data["event"]["channel"])
    assert call.params["thread_ts"] == data["event"]["ts"] and "H12" in call.params["text"]


# --- autodiagnose channels, bots, chatter -----------------------------------------------------------------


def test_in_an_autodiagnose_channel_chatter_is_ignored_and_a_platform_error_answered(bot, bot_process, slack):
    chatter = event(
        "event_message_channel",
        channel=AUTO_CHANNEL,
        ts="1715690000.000001",
        text="anyone seen the H12 dashboard? lunch at 12?",
    )
    app_noise = event(
        "event_message_channel",
        channel=AUTO_CHANNEL,
        ts="1715690000.000002",
        text="2024-05-14T09:00:00.000000+00:00 app[web.1]: GET /health 200 in 3ms",
    )
    paste = event("event_message_channel", channel=AUTO_CHANNEL, ts="1715690000.000003", text=f"```{H12}```")
    for data in (chatter, app_noise, paste):
        assert post_event(bot, data).status == 200
    [call] = slack.wait_for("chat.postMessage", channel=AUTO_CHANNEL, thread_ts="1715690000.000003")
    assert "H12" in call.params["text"]
    # The bot decided about the other two, and said why (answering the third proves nothing about them:
    # listeners run in parallel).
    bot_process.wait_log(f"no reply to message 1715690000.000001 in {AUTO_CHANNEL}: not a paste")
    bot_process.wait_log(f"no reply to message 1715690000.000002 in {AUTO_CHANNEL}: no platform error in it")
    answered = {c.params["thread_ts"] for c in posts_in(slack, AUTO_CHANNEL)}
    assert "1715690000.000001" not in answered and "1715690000.000002" not in answered


def test_outside_autodiagnose_channels_pastes_without_a_mention_are_ignored(bot, bot_process, slack):
    channel = unique("C0QUIET")
    paste = event("event_message_channel", channel=channel, text=f"```{H12}```")
    post_event(bot, paste)
    # A mention in the same channel is answered: proof the bot was listening all along.
    post_event(bot, event("event_app_mention", channel=channel, ts="1715690100.000001"))
    slack.wait_for("chat.postMessage", channel=channel)
    bot_process.wait_log(f"no reply to message {paste['event']['ts']} in {channel}: autodiagnose off")
    assert [c.params["thread_ts"] for c in posts_in(slack, channel)] == ["1715690100.000001"]


def test_a_mention_in_an_autodiagnose_channel_is_answered_once(bot, bot_process, slack):
    # Slack sends both app_mention and message.channels for it; whichever comes first answers.
    ts = "1715690200.000001"
    text = f"<@{BOT_USER_ID}> ```{H12}```"
    post_event(bot, event("event_message_channel", channel=AUTO_CHANNEL, ts=ts, text=text))
    post_event(bot, event("event_app_mention", channel=AUTO_CHANNEL, ts=ts, text=text))
    slack.wait_for("chat.postMessage", channel=AUTO_CHANNEL, thread_ts=ts)
    # Both listeners are done: one answered (one card), the other saw it answered.
    bot_process.wait_log(f"answered message {ts} in {AUTO_CHANNEL} (1 message(s))")
    bot_process.wait_log(f"no reply to message {ts} in {AUTO_CHANNEL}: already answered")
    assert len(slack.calls_to("chat.postMessage", channel=AUTO_CHANNEL, thread_ts=ts)) == 1


def test_the_bots_own_messages_and_other_bots_are_never_answered(bot, bot_process, slack):
    own = payload("event_message_own_bot", event_id=unique("Ev"))
    own["event"].update(
        channel=AUTO_CHANNEL, text=f"```{H12}```", ts="1715690300.000001", thread_ts="1715690300.000001"
    )
    alert = payload("event_bot_message", event_id=unique("Ev"))
    alert["event"].update(channel=AUTO_CHANNEL, ts="1715690300.000002")
    # Another app posting with its bot token: no subtype, only bot_id and bot_profile.
    other_app = payload("event_message_own_bot", event_id=unique("Ev"))
    other_app["event"].update(
        channel=AUTO_CHANNEL,
        text=f"```{H12}```",
        ts="1715690300.000004",
        user="U0PAGER",
        bot_id="B0PAGER",
        app_id="A0PAGER",
        thread_ts="1715690300.000004",
        bot_profile={"id": "B0PAGER", "name": "Pager", "app_id": "A0PAGER"},
    )
    for data in (own, alert, other_app):
        assert post_event(bot, data).status == 200
    sentinel = event(
        "event_message_channel", channel=AUTO_CHANNEL, ts="1715690300.000003", text=f"```{H12}```"
    )
    post_event(bot, sentinel)
    slack.wait_for("chat.postMessage", channel=AUTO_CHANNEL, thread_ts="1715690300.000003")
    # The bot's own message is dropped before any listener; the other bots' are read and refused.
    bot_process.wait_log(f"dropped the bot's own event {own['event_id']} (message in {AUTO_CHANNEL})")
    bot_process.wait_log(f"no reply to message 1715690300.000002 in {AUTO_CHANNEL}: from a bot")
    bot_process.wait_log(f"no reply to message 1715690300.000004 in {AUTO_CHANNEL}: from a bot")
    answered = {c.params["thread_ts"] for c in posts_in(slack, AUTO_CHANNEL)}
    assert not answered & {"1715690300.000001", "1715690300.000002", "1715690300.000004"}


# --- the message shortcut ----------------------------------------------------------------------------------


def test_the_shortcut_posts_the_diagnosis_in_the_messages_thread(bot, slack):
    channel = unique("C0SHORT")
    data = payload(
        "message_action",
        channel={"id": channel, "name": "incidents"},
        response_url=slack.response_url(unique("sc")),
    )
    assert post_form(bot, {"payload": json.dumps(data)}).status == 200
    [call] = slack.wait_for("chat.postMessage", channel=channel)
    assert call.params["thread_ts"] == data["message"]["ts"]
    text = section_texts(call.params["blocks"])
    assert text.startswith("## R14 → H12 on web.1\n")
    assert "*First fix:* Lower the process count" in text and "[ Show more ]" in text


def test_the_shortcut_answers_privately_where_the_bot_cannot_post(bot, slack):
    channel = unique("C0PRIVATE")
    key = unique("sc")
    slack.fail("chat.postMessage", body={"ok": False, "error": "not_in_channel"}, times=1, channel=channel)
    data = payload(
        "message_action", channel={"id": channel, "name": "secret"}, response_url=slack.response_url(key)
    )
    post_form(bot, {"payload": json.dumps(data)})
    calls = slack.wait_for("response_url", count=2, path=f"/respond/{key}")
    assert calls[0].params["response_type"] == "ephemeral"
    assert "/invite @Dyno Doctor" in calls[0].params["text"]
    assert "R14" in calls[1].params["text"] and calls[1].params["blocks"]
    # Only the person sees it, so it can be shared.
    assert button(calls[1].params["blocks"], "Share to channel")["action_id"] == "dynodoc_share"


# --- the slash command ----------------------------------------------------------------------------------


def command(text: str, **fields) -> dict:
    return {**payload("slash_command"), "text": text, **fields}


def test_slash_command_answer_is_only_for_the_caller(bot, slack):
    response = post_form(bot, command("R15"))
    assert response.status == 200
    body = response.json()
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith("R15 — ")
    assert body["blocks"][0]["text"]["text"] == "R15 — Memory quota vastly exceeded"


def test_slash_command_share_posts_to_the_channel(bot):
    body = post_form(bot, command("h12 share")).json()
    assert body["response_type"] == "in_channel"
    assert body["text"].startswith("H12 — Request timeout")


def test_slash_command_help(bot):
    body = post_form(bot, command("help")).json()
    assert body["response_type"] == "ephemeral"
    assert "/dynodoc autodiagnose on|off" in body["text"]
    assert "Diagnose with Dyno Doctor" in body["blocks"][0]["text"]["text"]


def test_slash_command_status_shows_each_watched_apps_last_poll_and_the_last_digest(bot, bot_db):
    text = section_texts(post_form(bot, command("status")).json()["blocks"])
    assert "`heroku:acme-api` — last poll never" in text
    assert "`fly:acme-edge` — last poll never" in text
    assert "*Last digest*\nNone posted yet." in text
    assert f"<#{AUTO_CHANNEL}>" in text

    # The poller and the digest job write to the same database while the bot runs.
    now = datetime.now(UTC)
    store = Store(bot_db)
    store.record_run(
        PollRun("acme-api", "heroku", now - timedelta(seconds=3), now, "ok", 1500, 7, (("H12", 7),))
    )
    store.record_run(PollRun("acme-edge", "fly", now, now, "failed", error="Fly.io rejected FLY_API_TOKEN"))
    store.execute(
        "INSERT INTO digests (channel, day, state, ts, created, posted) VALUES (?, ?, ?, ?, ?, ?)",
        ["C0OPS", "2026-11-23", "posted", "1.2", iso(now), iso(now)],
    )
    store.close()
    response = post_form(bot, command("status")).json()
    assert response["response_type"] == "ephemeral"
    text = section_texts(response["blocks"])
    assert f"`heroku:acme-api` — last poll <!date^{int(now.timestamp())}^" in text
    assert "7 new event(s)" in text
    assert "`fly:acme-edge` — last poll <!date^" in text and "(failed)" in text
    assert ":warning: Fly.io rejected FLY_API_TOKEN" in text
    assert "*Last digest*\n2026-11-23 in <#C0OPS> (posted" in text


def test_slash_command_digest_shows_the_stored_errors_to_the_caller(bot, slack, bot_db):
    now = datetime.now(UTC)
    store = Store(bot_db)
    store.save_lines(
        "acme-api",
        "heroku",
        [
            LineRecord(
                unique("hash"),
                now - timedelta(minutes=i + 1),
                "x",
                code="H12",
                kind="router",
                dyno="web.1",
                path=f"/reports/{i}/export",
                status=503,
                service_ms=30000,
            )
            for i in range(3)
        ],
    )
    store.close()
    key = unique("digest")
    body = post_form(bot, command("digest acme-api", response_url=slack.response_url(key))).json()
    assert body["response_type"] == "ephemeral"
    text = section_texts(body["blocks"])
    assert "*acme-api* (heroku) — 3 errors" in text
    assert "*H12* ×3" in text
    # The per-code details follow through the response_url, to the caller only.
    [details] = slack.wait_for("response_url", path=f"/respond/{key}")
    assert details.params["response_type"] == "ephemeral"
    assert "`/reports/{id}/export` (3)" in section_texts(details.params["blocks"])
    unknown = post_form(bot, command("digest nope", response_url=slack.response_url(unique("x")))).json()
    assert "`nope` is not a watched app. Watched: acme-api, acme-edge." in unknown["text"]


def test_slash_command_digest_share_posts_in_the_channel(bot, slack):
    body = post_form(bot, command("digest share", response_url=slack.response_url(unique("share")))).json()
    assert body["response_type"] == "in_channel"
    assert body["blocks"][0]["type"] == "header" and "Dyno Doctor digest" in body["blocks"][0]["text"]["text"]


def test_autodiagnose_on_then_off_for_a_channel(bot, bot_process, slack):
    channel = unique("C0TOGGLE")
    on = post_form(bot, command("autodiagnose on", channel_id=channel)).json()
    assert on["response_type"] == "in_channel" and "*on*" in on["text"]
    post_event(
        bot, event("event_message_channel", channel=channel, ts="1715690400.000001", text=f"```{H12}```")
    )
    slack.wait_for("chat.postMessage", channel=channel, thread_ts="1715690400.000001")

    state = post_form(bot, command("autodiagnose", channel_id=channel)).json()
    assert "*on*" in state["text"] and state["response_type"] == "ephemeral"
    off = post_form(bot, command("autodiagnose off", channel_id=channel)).json()
    assert "*off*" in off["text"]
    post_event(
        bot, event("event_message_channel", channel=channel, ts="1715690400.000002", text=f"```{H12}```")
    )
    bot_process.wait_log(f"no reply to message 1715690400.000002 in {channel}: autodiagnose off")
    assert [c.params["thread_ts"] for c in posts_in(slack, channel)] == ["1715690400.000001"]


def test_autodiagnose_in_a_dm_explains_itself(bot):
    body = post_form(
        bot, command("autodiagnose on", channel_id="D0ALICE", channel_name="directmessage")
    ).json()
    assert "always diagnosed" in body["text"]


def test_a_long_slash_command_answer_expands_through_the_response_url(bot, slack):
    key = unique("cmd")
    body = post_form(bot, command(MANY_CODES, response_url=slack.response_url(key))).json()
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith("21 error event(s)")
    assert len(body["blocks"]) <= 6 and visible_chars(body["blocks"]) <= 700
    assert "[ Show more ] [ Share to channel ] [ 👍 ] [ 👎 ]" in section_texts(body["blocks"])
    # Show more on an ephemeral message: Slack sends no message, only the response_url to replace it.
    data = click(
        body["blocks"], "more", channel="C0INCIDENT", message_ts=None, response_url=slack.response_url(key)
    )
    assert post_form(bot, {"payload": json.dumps(data)}).status == 200
    calls = slack.wait_for("response_url", count=3, path=f"/respond/{key}")
    assert calls[0].params["replace_original"] is True
    assert "follow in this thread" in section_texts(calls[0].params["blocks"])
    assert [c.params["text"] for c in calls[1:]] == [
        "Dyno Doctor, continued (2/3)",
        "Dyno Doctor, continued (3/3)",
    ]
    assert all(c.params["response_type"] == "ephemeral" for c in calls[1:])
    shown = "".join(section_texts(c.params["blocks"]) for c in calls)
    assert all(f"*`{code}` " in shown for code in ("H10", "H12", "H99"))


# --- App Home ----------------------------------------------------------------------------------------------


def test_opening_app_home_publishes_the_home_view(bot, slack):
    user = unique("U0HOME")
    post_event(bot, event("event_app_home_opened", user=user))
    [call] = slack.wait_for("views.publish", user_id=user)
    view = call.params["view"]
    assert view["type"] == "home"
    text = section_texts(view["blocks"])
    assert "How to use me" in text
    assert "*Watched apps*\n• `heroku:acme-api` — last poll " in text
    assert len(view["blocks"]) <= 100


def test_the_messages_tab_does_not_republish_home(bot, bot_process, slack):
    user = unique("U0MSGTAB")
    data = event("event_app_home_opened", user=user, tab="messages")
    post_event(bot, data)
    bot_process.wait_log(
        f"app_home_opened on the messages tab (event {data['event_id']}): nothing to publish"
    )
    assert slack.calls_to("views.publish", user_id=user) == []
