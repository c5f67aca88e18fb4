"""Cards kept for Show more, and 👍/👎 filed by fingerprint, on both engines (conftest's `store`)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from bot.clock import system_clock as utcnow
from bot.store import MIGRATIONS, Db, Disliked, FeedbackTally, Store, StoredCard


def card(card_id: str, days_old: float = 0) -> StoredCard:
    return StoredCard(
        card_id,
        "question",
        "f" * 32,
        "code H12",
        {"text": "H12", "blocks": [{"type": "divider"}]},
        [{"text": "H12", "blocks": []}],
        utcnow() - timedelta(days=days_old),
    )


def test_an_older_database_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    old = Db(conn, "sqlite")
    for number, migration in enumerate(MIGRATIONS[:2], 1):  # a database as version 2 left it
        migration(old)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute("INSERT INTO seen_events (event_id, seen_at) VALUES ('Ev1', 'x')")
    conn.close()

    upgraded = Store(path)
    assert upgraded.version == len(MIGRATIONS) >= 3
    assert not upgraded.first_sighting("Ev1")  # the old rows are still there
    upgraded.record_vote("a" * 32, "U1", "question", "code H12", 1)
    assert upgraded.feedback_tally().up == 1
    upgraded.close()


def test_one_vote_per_person_and_fingerprint_the_last_one_counts(store):
    store.record_vote("a" * 32, "U1", "question", "code H12", 1)
    store.record_vote("a" * 32, "U1", "question", "code H12", -1)
    store.record_vote("a" * 32, "U2", "question", "code H12", -1)
    store.record_vote("b" * 32, "U1", "paste", "diagnosis R14: R14, H12", 1)
    tally = store.feedback_tally()
    assert (tally.up, tally.down) == (1, 2)
    [disliked] = tally.disliked
    assert (disliked.kind, disliked.fingerprint, disliked.label, disliked.down, disliked.up) == (
        "question",
        "a" * 32,
        "code H12",
        2,
        0,
    )


def test_disliked_lists_only_answers_voted_down_more_than_up_most_first(store):
    for user in ("U1", "U2", "U3"):
        store.record_vote("c" * 32, user, "question", "unsure a b", -1)
    store.record_vote("d" * 32, "U1", "paste", "diagnosis none", -1)
    store.record_vote("e" * 32, "U1", "question", "code H10", -1)
    store.record_vote("e" * 32, "U2", "question", "code H10", 1)
    assert [(d.label, d.down) for d in store.disliked()] == [("unsure a b", 3), ("diagnosis none", 1)]
    assert store.feedback_tally(worst=1).disliked[0].label == "unsure a b"


def test_an_empty_tally_counts_zero(store):
    tally = store.feedback_tally()
    assert (tally.up, tally.down, tally.disliked) == (0, 0, ())


def test_cards_are_kept_and_forgotten_after_their_days(store):
    store.save_card(card("new1"))
    store.save_card(card("old1", days_old=8))
    assert store.card("new1").card["blocks"] == [{"type": "divider"}]
    assert store.card("nope") is None
    assert store.forget_cards(utcnow() - timedelta(days=7)) == 1
    assert store.card("old1") is None and store.card("new1") is not None


def test_a_card_is_read_back_as_it_was_kept(store):
    kept = StoredCard(
        "c0ffee",
        "paste",
        "9" * 32,
        "diagnosis R14: R14, H12",
        {"text": "R14", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "R14"}}]},
        [{"text": "more", "blocks": [{"type": "divider"}]}, {"text": "even more", "blocks": []}],
        datetime(2026, 11, 24, 9, 30, 15, 250000, tzinfo=UTC),
    )
    store.save_card(kept)
    assert store.card("c0ffee") == kept


def test_two_downs_and_one_up_is_disliked(store):
    for user, vote in (("U1", -1), ("U2", -1), ("U3", 1)):
        store.record_vote("a" * 32, user, "question", "code H12", vote)
    assert store.disliked() == [Disliked("question", "a" * 32, "code H12", 2, 1)]
    assert store.feedback_tally() == FeedbackTally(1, 2, (Disliked("question", "a" * 32, "code H12", 2, 1),))


def test_the_tally_names_the_three_most_disliked_and_the_list_stops_at_a_hundred(store):
    now = utcnow()
    store.insert_rows(
        "feedback",
        [
            {
                "fingerprint": f"{n:032d}",
                "user_id": f"U{u}",
                "kind": "question",
                "label": f"question {n:03d}",
                "vote": -1,
                "created": now.isoformat(),
            }
            for n in range(101)
            for u in range(1 + (n < 4) * (4 - n))  # the first four: 5, 4, 3, 2 votes down; the rest one
        ],
    )
    tally = store.feedback_tally()
    assert (tally.up, tally.down) == (0, 5 + 4 + 3 + 2 + 97)
    assert [(d.label, d.down) for d in tally.disliked] == [
        ("question 000", 5),
        ("question 001", 4),
        ("question 002", 3),
    ]
    disliked = store.disliked()
    assert len(disliked) == 100 and disliked[-1].label == "question 099"
