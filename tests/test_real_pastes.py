"""`diagnose` on real pastes (tests/data/real): every one copied from a public page, with its URL, and
its expectations written before the engine saw it. The figures are the issue's targets; the per-paste
tests keep the two things that must never regress: clean logs stay quiet, nothing crashes."""

from __future__ import annotations

import pytest
from realcorpus import CAUSES, engine, grep_baseline, load_cases, score

from bot.diagnose import diagnose

CASES = load_cases()
# Pastes the engine still reads wrongly, with why; strict, so a fix has to take the name off this list.
KNOWN_MISSES = {
    "fly-039-none-not-listening-warning-false-positive-slow-boot": "the author quotes flyctl's not-listening warning but says the app works (it boots slowly)",
    "fly-035-health-check-japanese-prose-slow-pass": "the failing health check is described only in Japanese",
    "mixed-022-html-font-tags-quot-traceback": "the crash is inside terminal colours pasted as HTML <font> tags",
}


def _cases(keep):
    return [
        pytest.param(
            c,
            id=c.name,
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[c.name])]
            if c.name in KNOWN_MISSES
            else [],
        )
        for c in CASES
        if keep(c)
    ]


def test_the_corpus_is_real_and_big_enough():
    assert len(CASES) >= 150
    assert all(c.url.startswith("https://") for c in CASES)
    assert len({c.url for c in CASES}) >= 150  # many sources, not one long thread
    for case in CASES:
        for alternatives in (*case.codes, case.root):
            assert alternatives, case.name
        assert case.root <= {label for alts in case.codes for label in alts} | set(CAUSES) or case.root & {
            label for alts in case.codes for label in alts
        }, case.name


def test_targets_on_real_pastes(kb):
    s = score(CASES, engine(kb))
    assert s.recall >= 0.97, s.line()
    assert s.precision >= 0.98, s.line()
    assert s.root_accuracy >= 0.90, s.line()
    assert s.clean >= 20 and s.clean_quiet == s.clean, s.line()


def test_the_held_out_pastes_keep_the_same_targets_once_read(kb):
    # Measured blind when they arrived, then read: a change that helps `ask` must not cost these (the
    # Anthropic "prompt is too long" wording did: three pastes that expect its invalid_request_error).
    from pathlib import Path

    heldout = Path(__file__).parent / "data" / "heldout"
    cases = [c for d in sorted(heldout.glob("pastes*")) if d.is_dir() for c in load_cases(d)]
    s = score(cases, engine(kb))
    assert s.roots >= 200, s.line()
    assert s.recall >= 0.97, s.line()
    assert s.precision >= 0.98, s.line()
    assert s.root_accuracy >= 0.95, s.line()
    assert s.clean_quiet == s.clean, s.line()


def test_better_than_grep(kb):
    ours, grep = score(CASES, engine(kb)), score(CASES, grep_baseline(kb))
    assert (
        ours.recall > grep.recall
        and ours.precision > grep.precision
        and ours.root_accuracy > grep.root_accuracy
    )


@pytest.mark.parametrize("case", _cases(lambda c: not c.codes and c.root == {"none"}))
def test_clean_logs_raise_no_alarm(kb, case):
    d = diagnose(case.text, kb)
    assert d.findings == () and d.primary is None, d.summary


@pytest.mark.parametrize(
    "case", _cases(lambda c: bool(c.root & {"oom", "crash", "not-listening", "health-check"}))
)
def test_a_failure_without_a_code_is_never_no_findings(kb, case):
    d = diagnose(case.text, kb)
    assert d.primary is not None and "No platform error codes found" not in d.summary, d.summary


def test_the_held_out_sets_are_real_and_apart_from_the_tuning_sets():
    from pathlib import Path

    from realquestions import load_questions

    heldout = Path(__file__).parent / "data" / "heldout"
    paste_sets = [load_cases(d) for d in sorted(heldout.glob("pastes*")) if d.is_dir()]
    question_sets = [load_questions(f) for f in sorted(heldout.glob("questions*.yml"))]
    assert len(paste_sets) >= 2 and len(question_sets) >= 2
    seen_urls = {c.url for c in CASES}
    seen_questions = {q.q for q in load_questions()}
    for cases in paste_sets:
        assert len(cases) >= 35 and all(c.url.startswith("https://") for c in cases)
        assert not {c.url for c in cases} & seen_urls  # each set is apart from the tuning set and the others
        seen_urls |= {c.url for c in cases}
    for questions in question_sets:
        # Sets shrink as fresh public titles run out (set 34 has 13: one question is 8 points of it).
        assert len(questions) >= 13 and all(q.url.startswith(("https://", "http://")) for q in questions)
        assert not {q.q for q in questions} & seen_questions
        seen_questions |= {q.q for q in questions}


def _all_pastes():
    from pathlib import Path

    heldout = Path(__file__).parent / "data" / "heldout"
    found = list(CASES)
    for folder in sorted(heldout.glob("pastes*")):
        found += load_cases(folder)
    return found


@pytest.mark.parametrize(
    "case",
    [c for c in _all_pastes() if len([x for x in c.text.splitlines() if x.strip()]) >= 4],
    ids=lambda c: c.name,
)
def test_a_paste_of_several_lines_is_diagnosed_in_slack_as_in_the_cli(kb, case):
    """Slack's reply decides paste or question (`reply.respond`); deploy output, CLI sessions and clean logs
    with no timestamp or code in them were taken for questions, so a clean `fly launch` got a Fly code and
    a Heroku CLI's "Couldn't find that app" got exit-1, where `dynodoc diagnose` read them right."""
    from bot.reply import respond

    reply = respond(case.text, kb)
    assert reply.diagnosis is not None
    assert reply.diagnosis.root == diagnose(case.text, kb).root
