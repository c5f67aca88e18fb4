"""The HTTP front under load, against the real `dynodoc serve --http` and the fake Slack: a burst of
signed events is all acknowledged and answered exactly once, and SIGTERM under load stops the bot."""

from __future__ import annotations

import contextlib
import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fakes.slack import BOT_USER_ID, BotProcess, FakeSlack, get, payload, post_event


@pytest.fixture
def fake():
    slack = FakeSlack()
    yield slack
    slack.close()


def test_a_burst_of_200_signed_events_is_all_answered_exactly_once(fake, tmp_path):
    process, port = BotProcess.http(fake, tmp_path)
    try:
        events = [
            payload(
                "event_app_mention",
                event_id=f"EvBURST{i:04d}",
                event={"channel": f"C0BURST{i:04d}", "text": f"<@{BOT_USER_ID}> what is R15?"},
            )
            for i in range(200)
        ]
        with ThreadPoolExecutor(200) as pool:
            statuses = list(pool.map(lambda e: post_event(port, e).status, events))
        assert statuses == [200] * 200
        fake.wait_for("chat.postMessage", count=200, timeout=90)
        # A marker sent after the burst: once it is answered, a duplicate answer would be in the record.
        marker = payload(
            "event_app_mention",
            event_id="EvBURSTMARK",
            event={"channel": "C0BURSTMARK", "text": f"<@{BOT_USER_ID}> what is H10?"},
        )
        assert post_event(port, marker).status == 200
        fake.wait_for("chat.postMessage", channel="C0BURSTMARK")
        answered = [c.params["channel"] for c in fake.calls_to("chat.postMessage")]
        assert sorted(answered) == sorted([*(e["event"]["channel"] for e in events), "C0BURSTMARK"])
    finally:
        assert process.stop() == 0
    assert "Traceback" not in process.stderr


def test_sigterm_under_load_stops_the_bot_quickly(fake, tmp_path):
    process, port = BotProcess.http(fake, tmp_path)
    stop = threading.Event()
    answered = threading.Semaphore(0)

    def hammer() -> None:
        while not stop.is_set():
            # A check cut off by the shutdown ends with a refused or half-read answer: both expected here.
            with contextlib.suppress(OSError, http.client.HTTPException):
                get(port, "/healthz")
                answered.release()

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(16)]
    for t in threads:
        t.start()
    for _ in range(64):  # the bot is under load: 64 health checks answered, and more coming
        assert answered.acquire(timeout=10)
    started = time.monotonic()
    process.proc.terminate()
    try:
        process.proc.wait(5)
        took = time.monotonic() - started
    finally:
        stop.set()
        process.stop()
    assert process.proc.returncode == 0 and took < 5, process.stderr
    assert "Traceback" not in process.stderr


def test_a_rate_limited_reaction_delays_no_answer(fake, tmp_path):
    # Slack rate-limits reactions.add (Retry-After 2 s) for every call: the 👀 is cosmetic, so the 30
    # answers must not wait out the limit one after another in the listener threads.
    fake.fail(
        "reactions.add", status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "2"}
    )
    process, port = BotProcess.http(fake, tmp_path)
    try:
        events = [
            payload(
                "event_app_mention",
                event_id=f"EvRATE{i:04d}",
                event={"channel": f"C0RATE{i:04d}", "text": f"<@{BOT_USER_ID}> what is H12?"},
            )
            for i in range(30)
        ]
        started = time.monotonic()
        with ThreadPoolExecutor(30) as pool:
            assert set(pool.map(lambda e: post_event(port, e).status, events)) == {200}
        fake.wait_for("chat.postMessage", count=30, timeout=30)
        took = time.monotonic() - started
    finally:
        assert process.stop() == 0
    assert took < 5, f"the last answer came after {took:.1f} s"
