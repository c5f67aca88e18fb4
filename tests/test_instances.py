"""Several instances, each job once: advisory-locked jobs on a shared PostgreSQL, and the Slack-side
guard that leaves one digest visible when instances keep separate SQLite files. Real `dynodoc serve`
processes against the fake Slack on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from fakes.slack import BOT_TOKEN, SIGNING_SECRET, BotProcess, FakeSlack, bot_env, free_port
from slack_sdk import WebClient

from bot.instances import DIGEST_EVENT, earlier_digest, only_one, tagged_digests, while_ours
from bot.store import Store, is_postgres_url

CHANNEL = "C0DIGEST"


@pytest.fixture
def fake():
    slack = FakeSlack()
    yield slack
    slack.close()


def visible_digests(fake: FakeSlack) -> list[dict]:
    return [
        m
        for m, meta in fake.history.get(CHANNEL, [])
        if "thread_ts" not in m and (meta or {}).get("event_type") == DIGEST_EVENT
    ]


def post_tagged(client: WebClient, day: str) -> str:
    meta = {"event_type": DIGEST_EVENT, "event_payload": {"day": day}}
    return client.chat_postMessage(channel=CHANNEL, text="digest", metadata=meta)["ts"]


def test_when_two_instances_both_posted_only_the_later_deletes_its_own(fake):
    client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
    since = datetime.now(UTC) - timedelta(minutes=5)
    post_tagged(client, "2026-11-23")  # yesterday's digest is not a rival
    first, second = post_tagged(client, "2026-11-24"), post_tagged(client, "2026-11-24")

    # Each instance checks after its own post, in either order.
    assert earlier_digest(client, CHANNEL, "2026-11-24", since, second) == first
    assert earlier_digest(client, CHANNEL, "2026-11-24", since, first) is None

    assert tagged_digests(client, CHANNEL, "2026-11-24", since) == [first]
    assert [c.params["ts"] for c in fake.calls_to("chat.delete")] == [second]
    assert len(visible_digests(fake)) == 2  # today's and yesterday's


def test_a_job_is_skipped_by_the_instance_without_the_lock(database):
    one, two = Store(database), Store(database)
    ran: list[str] = []
    with one.exclusive("poll"):
        only_one(two, "poll", lambda: ran.append("two"))()
    only_one(two, "poll", lambda: ran.append("two, later"))()
    # PostgreSQL: the lock is shared; SQLite: one scheduler per file, so it always runs.
    assert ran == (["two, later"] if is_postgres_url(database) else ["two", "two, later"])
    one.close()
    two.close()


def _due_an_hour_ago() -> str:
    return f"{(datetime.now(UTC) - timedelta(hours=1)):%H:%M}"


def _serve_two(fake: FakeSlack, tmp_path, env_for) -> list[BotProcess]:
    bots = []
    for name in ("web", "worker"):
        cwd = tmp_path / name
        cwd.mkdir()
        port = free_port()
        env = bot_env(
            fake,
            cwd / "dynodoc.db",
            DYNODOC_DIGEST_CHANNEL=CHANNEL,
            DYNODOC_DIGEST_TIME=_due_an_hour_ago(),
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            **env_for(name),
        )
        bots.append(
            (BotProcess(["serve", "--http", "--port", str(port), "--host", "127.0.0.1"], env, cwd), port)
        )
    for bot, port in bots:
        bot.wait_port(port)
    return [bot for bot, _ in bots]


def _settle(fake: FakeSlack, bots: list[BotProcess], seconds: float = 20) -> None:
    """Wait until the digest is posted and both processes had time to run their missed-digest job."""
    fake.wait_for("chat.postMessage", channel=CHANNEL, timeout=seconds)
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        time.sleep(0.2)
    for bot in bots:
        assert bot.proc.poll() is None, bot.stderr


def test_two_serve_processes_sharing_postgres_post_one_digest(fake, postgres, tmp_path):
    url = postgres.new_database()
    bots = _serve_two(fake, tmp_path, lambda name: {"DATABASE_URL": url})
    try:
        _settle(fake, bots)
    finally:
        for bot in bots:
            bot.stop()
    posts = [c for c in fake.calls_to("chat.postMessage", channel=CHANNEL) if "thread_ts" not in c.params]
    assert len(posts) == 1, [bot.stderr for bot in bots]
    assert len(visible_digests(fake)) == 1 and not fake.calls_to("chat.delete")
    store = Store(url)
    ((state, ts),) = store.query("SELECT state, ts FROM digests")
    assert state == "posted" and ts == visible_digests(fake)[0]["ts"]
    store.close()
    postgres.drop_database(url)


def test_two_serve_processes_with_separate_sqlite_files_leave_one_digest_visible(fake, tmp_path):
    bots = _serve_two(fake, tmp_path, lambda name: {})  # each its own dynodoc.db, as on two dynos
    try:
        _settle(fake, bots)
    finally:
        for bot in bots:
            bot.stop()
    assert len(visible_digests(fake)) == 1
    posts = [c for c in fake.calls_to("chat.postMessage", channel=CHANNEL) if "thread_ts" not in c.params]
    assert len(posts) - len(fake.calls_to("chat.delete")) == 1


def test_the_procfile_worker_leaves_the_jobs_to_web_on_sqlite(fake, tmp_path):
    # `--jobs shared` (the Procfile's worker): with an SQLite file it answers Slack but never posts.
    port = free_port()
    env = bot_env(
        fake, tmp_path / "dynodoc.db", DYNODOC_DIGEST_CHANNEL=CHANNEL, DYNODOC_DIGEST_TIME=_due_an_hour_ago()
    )
    worker = BotProcess(
        ["serve", "--http", "--port", str(port), "--host", "127.0.0.1", "--jobs", "shared"], env, tmp_path
    )
    try:
        worker.wait_port(port)
        time.sleep(3)
    finally:
        worker.stop()
    assert not fake.calls_to("chat.postMessage", channel=CHANNEL)
    assert "left to another process (--jobs shared, database sqlite)" in worker.stderr


def test_a_lasting_job_runs_on_one_instance_and_another_takes_over_when_it_stops(database):
    # Tail mode keeps Heroku log sessions open: on a shared PostgreSQL only the lock holder may.
    one, two = Store(database), Store(database)
    ran: list[str] = []
    first_running, release = threading.Event(), threading.Event()

    def first() -> None:
        ran.append("one")
        first_running.set()
        release.wait(10)

    stop = threading.Event()
    holder = threading.Thread(target=while_ours, args=(one, "poll", first, stop, 0.05))
    holder.start()
    assert first_running.wait(10)
    second = threading.Thread(target=while_ours, args=(two, "poll", lambda: ran.append("two"), stop, 0.05))
    second.start()
    if is_postgres_url(database):
        second.join(0.5)
        assert second.is_alive() and ran == ["one"]  # waiting for the lock, not tailing
        release.set()  # the holder stops (or dies): its lock goes with it
        second.join(10)
        assert ran == ["one", "two"]
    else:  # one scheduler per SQLite file: it is always ours
        second.join(10)
        assert ran == ["one", "two"]
        release.set()
    holder.join(10)
    assert not holder.is_alive() and not second.is_alive()
    one.close()
    two.close()


def test_a_lasting_job_waiting_for_its_lock_stops_when_told(database):
    one, two = Store(database), Store(database)
    stop = threading.Event()
    with one.exclusive("poll"):
        waiter = threading.Thread(target=while_ours, args=(two, "poll", lambda: None, stop, 30.0))
        waiter.start()
        waiter.join(0.3)
        stop.set()
        waiter.join(5)
        assert not waiter.is_alive()  # it did not sleep out its 30 s retry
    one.close()
    two.close()
