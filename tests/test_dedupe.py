"""Slack's redeliveries of an event already handled are acknowledged and dropped, across restarts."""

from __future__ import annotations

import logging

import pytest
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from bot.slack.dedupe import drop_retried_events
from bot.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "dynodoc.db")
    yield s
    s.close()


class Handler:
    """What Bolt calls next: the listeners. Counts how often it ran."""

    def __init__(self):
        self.calls = 0

    def __call__(self) -> BoltResponse:
        self.calls += 1
        return BoltResponse(status=200, body="handled")


def test_a_redelivered_event_is_acknowledged_and_not_handled_again(store, caplog):
    middleware, handler = drop_retried_events(store), Handler()
    first = middleware({"event_id": "Ev01"}, handler)
    with caplog.at_level(logging.INFO, logger="bot.slack.dedupe"):
        again = middleware({"event_id": "Ev01"}, handler)
    assert (first.status, first.body) == (200, "handled")
    assert (again.status, again.body) == (200, "")
    assert handler.calls == 1
    assert [r.getMessage() for r in caplog.records] == ["dropped retried event Ev01 (not marked as a retry)"]
    assert middleware({"event_id": "Ev02"}, handler).body == "handled" and handler.calls == 2


def test_the_dropped_redelivery_is_logged_with_slacks_retry_headers(store, caplog):
    # The line an operator reads (and the end-to-end tests wait for): which event, which retry, and why.
    middleware, handler = drop_retried_events(store), Handler()
    middleware({"event_id": "Ev01"}, handler)
    retry = BoltRequest(body="{}", headers={"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_timeout"})
    with caplog.at_level(logging.INFO, logger="bot.slack.dedupe"):
        assert middleware({"event_id": "Ev01"}, handler, retry).body == ""
    assert [r.getMessage() for r in caplog.records] == ["dropped retried event Ev01 (retry 2, http_timeout)"]
    assert handler.calls == 1


def test_a_redelivery_with_a_number_and_no_reason_says_so(store, caplog):
    # Socket Mode's `retry_attempt` becomes X-Slack-Retry-Num; no reason header comes with it.
    middleware, handler = drop_retried_events(store), Handler()
    middleware({"event_id": "Ev01"}, handler)
    retry = BoltRequest(body="{}", headers={"X-Slack-Retry-Num": "1"})
    with caplog.at_level(logging.INFO, logger="bot.slack.dedupe"):
        assert middleware({"event_id": "Ev01"}, handler, retry).body == ""
    assert [r.getMessage() for r in caplog.records] == [
        "dropped retried event Ev01 (retry 1, no reason given)"
    ]


def test_a_restart_remembers_the_events_it_handled(tmp_path):
    handler = Handler()
    before = Store(tmp_path / "dynodoc.db")
    drop_retried_events(before)({"event_id": "Ev01"}, handler)
    before.close()
    after = Store(tmp_path / "dynodoc.db")
    assert drop_retried_events(after)({"event_id": "Ev01"}, handler).body == ""
    after.close()
    assert handler.calls == 1


@pytest.mark.parametrize("body", [{}, {"event_id": ""}, {"event_id": None}, "not a dict", None])
def test_a_request_without_an_event_id_is_always_handled(store, body):
    # Slash commands, shortcuts and actions carry no event_id: each one is new.
    middleware, handler = drop_retried_events(store), Handler()
    middleware(body, handler)
    middleware(body, handler)
    assert handler.calls == 2
    assert store.query("SELECT COUNT(*) FROM seen_events")[0][0] == 0


def test_a_database_that_cannot_be_written_answers_rather_than_drops(tmp_path, caplog):
    store = Store(tmp_path / "dynodoc.db")
    middleware, handler = drop_retried_events(store), Handler()
    store.close()  # every query now fails: the store says so as a StoreError
    with caplog.at_level(logging.WARNING, logger="bot.slack.dedupe"):
        assert middleware({"event_id": "Ev01"}, handler).body == "handled"
    assert handler.calls == 1
    assert [r.getMessage() for r in caplog.records] == [
        "cannot record event Ev01, answering it anyway: StoreError"
    ]
