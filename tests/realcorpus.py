"""Scoring `diagnose` on the real pastes of tests/data/real, beside a grep baseline.

Shared by the corpus test and `bench/bench_real_pastes.py`. A case's expected labels may offer
alternatives ("rate_limit_error|billing_error"): finding any one of them counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REAL = Path(__file__).parent / "data" / "real"
CAUSES = ("oom", "crash", "not-listening", "health-check", "none")


@dataclass(frozen=True)
class Case:
    name: str
    url: str
    envelope: str
    codes: tuple[frozenset[str], ...]  # each expected code with its accepted alternatives
    root: frozenset[str]
    provider: str | None
    text: str


@dataclass
class Score:
    expected: int = 0  # expected codes
    hit: int = 0  # expected codes found
    found: int = 0  # codes reported
    right: int = 0  # reported codes that were expected
    roots: int = 0
    roots_right: int = 0
    clean: int = 0  # pastes where nothing is wrong
    clean_quiet: int = 0  # ... and nothing was reported
    misses: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.hit / self.expected if self.expected else 1.0

    @property
    def precision(self) -> float:
        return self.right / self.found if self.found else 1.0

    @property
    def root_accuracy(self) -> float:
        return self.roots_right / self.roots if self.roots else 1.0

    def line(self) -> str:
        return (
            f"code recall {self.recall:.3f} ({self.hit}/{self.expected}), precision {self.precision:.3f} "
            f"({self.right}/{self.found}), root cause {self.root_accuracy:.1%} ({self.roots_right}/{self.roots}), "
            f"quiet on clean logs {self.clean_quiet}/{self.clean}"
        )


def _alternatives(label) -> frozenset[str]:
    return frozenset(str(label).split("|"))


def load_cases(directory: Path = REAL) -> list[Case]:
    cases = []
    for path in sorted(directory.glob("*.yml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        e = raw["expected"]
        cases.append(
            Case(
                name=path.stem,
                url=raw["url"],
                envelope=raw["envelope"],
                codes=tuple(_alternatives(c) for c in e.get("codes") or ()),
                root=_alternatives(e["root"]),
                provider=e.get("provider"),
                text=raw["text"],
            )
        )
    return cases


def score(cases: list[Case], read) -> Score:
    """`read(text) -> (set of codes, root)` for each case, scored against the expectations."""
    s = Score()
    for case in cases:
        found, root = read(case.text)
        s.expected += len(case.codes)
        hits = sum(1 for alts in case.codes if alts & found)
        s.hit += hits
        s.found += len(found)
        accepted = frozenset().union(*case.codes) if case.codes else frozenset()
        s.right += len(found & accepted)
        s.roots += 1
        s.roots_right += root in case.root
        if not case.codes and case.root == {"none"}:
            s.clean += 1
            s.clean_quiet += not found
        if hits < len(case.codes) or found - accepted or root not in case.root:
            s.misses.append(
                f"{case.name}: expected {sorted('|'.join(sorted(a)) for a in case.codes)} "
                f"root {'|'.join(sorted(case.root))}; got {sorted(found)} root {root}"
            )
    return s


def engine(kb):
    from bot.diagnose import diagnose

    def read(text: str) -> tuple[set[str], str]:
        d = diagnose(text, kb)
        return {f.code for f in d.findings}, d.root

    return read


def grep_baseline(kb):
    """What `grep -oE` with every known code finds, taking the first code seen as the root cause."""
    words = sorted((e.code for e in kb.entries), key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, words)) + r")(?![\w-])")

    def read(text: str) -> tuple[set[str], str]:
        seen = pattern.findall(text)
        return set(seen), (seen[0] if seen else "none")

    return read
