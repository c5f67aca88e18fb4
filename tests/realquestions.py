"""Scoring `ask` on the real questions of tests/data/real-questions.yml, beside an exact-code regex.

An expectation lists the acceptable first answers: knowledge codes, `topic:<slug>` (an entry whose code is
the slug), or `abstain` ("not sure, tell me more"). Shared by the test and `bench/bench_real_questions.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

QUESTIONS = Path(__file__).parent / "data" / "real-questions.yml"


@dataclass(frozen=True)
class Question:
    q: str
    url: str
    expect: frozenset[str]  # codes (topics as their slug), or "abstain"
    provider: str | None


@dataclass
class Score:
    total: int = 0
    top1: int = 0
    top3: int = 0
    abstain_expected: int = 0
    abstained_right: int = 0  # abstained where abstaining was right
    abstained: int = 0
    misses: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"top-1 {self.top1 / self.total:.1%} ({self.top1}/{self.total}), top-3 {self.top3 / self.total:.1%}, "
            f"honest 'not sure' on {self.abstained_right}/{self.abstain_expected} no-fit questions, "
            f"abstained on {self.abstained} in all"
        )


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    out = []
    for item in yaml.safe_load(path.read_text(encoding="utf-8")):
        expect = frozenset(str(e).removeprefix("topic:") for e in item["expect"])
        out.append(Question(item["q"], item["url"], expect, item.get("provider")))
    return out


def score(questions: list[Question], read) -> Score:
    """`read(question) -> list of codes, best first; [] when it abstains`."""
    s = Score()
    for q in questions:
        codes = read(q.q)
        s.total += 1
        wants_abstain = "abstain" in q.expect
        s.abstain_expected += wants_abstain
        if not codes:
            s.abstained += 1
        if (not codes and wants_abstain) or (codes and codes[0] in q.expect):
            s.top1 += 1
        else:
            s.misses.append(f"{q.q!r}: expected {sorted(q.expect)}, got {codes[:3] or 'not sure'}")
        if (not codes and wants_abstain) or set(codes[:3]) & q.expect:
            s.top3 += 1
        s.abstained_right += not codes and wants_abstain
    return s


def engine(kb):
    def read(question: str) -> list[str]:
        answer = kb.lookup(question)
        return [m.entry.code for m in answer.matches]

    return read


def code_regex_baseline(kb):
    """An exact-code regex: the first known code written in the question, else nothing."""
    words = sorted((e.code for e in kb.entries), key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, words)) + r")(?![\w-])", re.I)
    by_upper = {e.code.upper(): e.code for e in kb.entries}

    def read(question: str) -> list[str]:
        return [by_upper[m.upper()] for m in pattern.findall(question)][:3]

    return read
