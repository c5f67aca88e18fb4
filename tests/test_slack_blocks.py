"""Answers and diagnoses as Block Kit: always within Slack's limits, readable mrkdwn, nothing lost when split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes.slack import block_problems

from bot.diagnose import diagnose
from bot.knowledge import Answer, KnowledgeBase, Match
from bot.render.blocks import (
    AppStatus,
    DigestStatus,
    StatusReport,
    escape,
    home_view,
    paginate,
    render_answer,
    render_diagnosis,
    render_status,
    section,
)

PASTES = sorted((Path(__file__).parent / "data" / "pastes").glob("*.txt"))
KB = KnowledgeBase.load()


def assert_within_limits(message, max_blocks: int = 50, headed: bool = True) -> None:
    blocks = list(message.blocks)
    assert block_problems(blocks, max_blocks) == []  # what the real Slack would refuse
    assert 1 <= len(blocks) <= max_blocks
    assert len(json.dumps(blocks)) < 12_000
    assert message.text.strip() and len(message.text) <= 3000
    for block in blocks:
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= 3000
        elif block["type"] == "header":
            assert len(block["text"]["text"]) <= 150 and block["text"]["type"] == "plain_text"
        elif block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 2000 for e in block["elements"])
        else:
            assert block["type"] == "divider"
    if headed:  # every answer and diagnosis starts with its header (continuations and panels need none)
        assert blocks[0]["type"] == "header"


def text_of(messages) -> str:
    return "\n".join(
        b["text"]["text"]
        if b["type"] in ("section", "header")
        else " ".join(e["text"] for e in b.get("elements", []))
        for m in messages
        for b in m.blocks
    )


@pytest.mark.parametrize("entry", KB.entries, ids=lambda e: e.code)
def test_every_entry_fits_one_message_with_its_docs_link(entry):
    [message] = render_answer(Answer(entry.code, "code", (Match(entry, 1.0),)))
    assert_within_limits(message)
    assert message.blocks[0]["type"] == "header" and entry.code in message.blocks[0]["text"]["text"]
    assert f"<{entry.docs}|Docs>" in text_of([message])
    assert message.text.startswith(f"{entry.code} — {entry.title}")


@pytest.mark.parametrize(
    "question",
    [
        "hello",
        "what is H77?",
        "r14 vs r15 vs h12",
        "all R codes",
        "list fly tls errors",
        "why 503 on heroku",
        "429 from heroku ai",
        "backlog too deep",
        "PC01",
    ],
)
def test_every_kind_of_answer_fits(question):
    messages = render_answer(KB.lookup(question))
    assert len(messages) == 1
    assert_within_limits(messages[0])


def test_severity_blame_and_commands_are_visible():
    [message] = render_answer(KB.lookup("R14"))
    text = text_of([message])
    assert ":large_orange_circle:" in text or ":red_circle:" in text or ":large_yellow_circle:" in text
    assert "on your app's side" in text
    assert "*What to do*" in text and "`heroku" in text


def test_markup_characters_from_logs_are_escaped():
    paste = (
        "2024-05-14T03:07:20.000000+00:00 app[web.1]: RuntimeError: <html> & <@U0EVIL> <!channel>\n"
        "2024-05-14T03:07:21.000000+00:00 heroku[web.1]: Process exited with status 1\n"
        "2024-05-14T03:07:21.000000+00:00 heroku[web.1]: State changed from up to crashed\n"
    )
    text = text_of(render_diagnosis(diagnose(paste, KB)))
    assert "&lt;html&gt; &amp;" in text
    assert "<!channel>" not in text and "<html>" not in text
    assert escape("a < b & c > d") == "a &lt; b &amp; c &gt; d"


@pytest.mark.parametrize("path", PASTES, ids=lambda p: p.stem)
def test_every_sample_paste_renders_within_limits_and_names_every_finding(path):
    diagnosis = diagnose(path.read_text(), KB)
    messages = render_diagnosis(diagnosis)
    for i, message in enumerate(messages):
        assert_within_limits(message, headed=i == 0)
    assert messages[0].text == diagnosis.summary[:3000]
    text = text_of(messages)
    for finding in diagnosis.findings:
        assert f"`{finding.code}`" in text


def test_a_long_diagnosis_is_summarised_first_and_continued():
    codes = [
        e.code for e in KB.entries if e.platform == "heroku" and e.code[0] in "HRL" and e.code[1:].isdigit()
    ]
    paste = "\n".join(
        f'2024-05-14T09:00:{i % 60:02d}.000000+00:00 heroku[router]: at=error code={c} desc="x"'
        for i, c in enumerate(codes)
    )
    diagnosis = diagnose(paste, KB)
    assert len(diagnosis.findings) > 20
    messages = render_diagnosis(diagnosis)
    assert len(messages) >= 2
    for i, message in enumerate(messages):
        assert_within_limits(message, headed=i == 0)
    first = text_of(messages[:1])
    assert diagnosis.summary in first and "*Found:*" in first and "follow in this thread" in first
    assert [m.text for m in messages[1:]] == [
        f"Dyno Doctor, continued ({i}/{len(messages)})" for i in range(2, len(messages) + 1)
    ]
    details = text_of(messages[1:])
    assert all(f"*`{f.code}` " in details for f in diagnosis.findings)


def test_paginate_keeps_order_and_limits():
    blocks = [section(f"line {i} " + "x" * 500) for i in range(130)]
    pages = paginate(blocks)
    assert [b for page in pages for b in page] == blocks
    assert all(len(p) <= 50 and len(json.dumps(p)) <= 11_000 for p in pages)


def test_an_oversized_section_is_clipped():
    assert len(section("x" * 10_000)["text"]["text"]) == 3000


def test_status_and_home():
    from datetime import UTC, datetime

    polled = datetime(2026, 11, 24, 6, 40, tzinfo=UTC)
    report = StatusReport(
        apps=(
            AppStatus("heroku:acme-api", polled, "ok", new_events=12, events_24h=40, gaps_24h=1),
            AppStatus(
                "fly:acme-edge", polled, "failed", failures_in_a_row=3, problem="401 from Fly: token rejected"
            ),
            AppStatus("heroku:new-app"),
        ),
        last_digest=DigestStatus("2026-11-23", "C0OPS", "posted", datetime(2026, 11, 23, 9, 0, tzinfo=UTC)),
        autodiagnose_channels=("C0INCIDENT",),
    )
    message = render_status(report)
    assert_within_limits(message, headed=False)
    text = text_of([message])
    epoch = int(polled.timestamp())
    assert (
        f"`heroku:acme-api` — last poll <!date^{epoch}^{{date_short_pretty}} {{time}}|2026-11-24 06:40 UTC>"
        in text
    )
    assert "|2026-11-24 06:40 UTC>, 12 new event(s); last 24 h: 40 event(s), 1 gap(s)" in text
    assert "`fly:acme-edge` — last poll <!date^" in text and "UTC> (failed), 0 new event(s)" in text
    assert ":warning: 3 failed polls in a row" in text and ":warning: 401 from Fly: token rejected" in text
    assert "`heroku:new-app` — last poll never\n" in text
    assert "2026-11-23 in <#C0OPS> (posted" in text
    view = home_view("intro", "usage", report)
    assert view["type"] == "home" and len(view["blocks"]) <= 100
