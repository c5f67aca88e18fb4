"""The held-out sets (tests/data/heldout): real pastes and questions collected after the engine was built,
each set by a reader who never saw the engine. A figure here says how the bot does on text it was not
shaped by, up to the moment a set's misses were read (the commit that adds a set records its blind figure).
Prints every set beside its baseline; `-v` lists the misses."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

import realcorpus  # noqa: E402
import realquestions  # noqa: E402

from bot.knowledge import KnowledgeBase  # noqa: E402

HELDOUT = TESTS / "data" / "heldout"


def main() -> None:
    kb = KnowledgeBase.load()
    misses: list[str] = []
    for folder in sorted(p for p in HELDOUT.glob("pastes*") if p.is_dir()):
        cases = realcorpus.load_cases(folder)
        ours = realcorpus.score(cases, realcorpus.engine(kb))
        misses += ours.misses
        print(f"{folder.name} ({len(cases)} pastes):")
        print(f"  dyno doctor: {ours.line()}")
        print(f"  grep -oE   : {realcorpus.score(cases, realcorpus.grep_baseline(kb)).line()}")
    for path in sorted(HELDOUT.glob("questions*.yml")):
        questions = realquestions.load_questions(path)
        ours = realquestions.score(questions, realquestions.engine(kb))
        misses += ours.misses
        print(f"{path.stem} ({len(questions)} questions):")
        print(f"  dyno doctor: {ours.line()}")
        print(
            f"  code regex : {realquestions.score(questions, realquestions.code_regex_baseline(kb)).line()}"
        )
    agreement(kb)
    if "-v" in sys.argv:
        print("\n".join(["", *misses]))


def agreement(kb: KnowledgeBase) -> None:
    """How far a single labeler's answers can be trusted: a second labeler relabelled some sets blind
    (`second-labeler-<first>-<last>.yml`)."""
    import yaml

    for path in sorted(HELDOUT.glob("second-labeler-*.yml"), key=lambda p: int(p.stem.split("-")[2])):
        second = yaml.safe_load(path.read_text(encoding="utf-8"))
        sets = sorted({item["set"] for item in second})
        first = {
            (n, q.q): q.expect
            for n in sets
            for q in realquestions.load_questions(HELDOUT / f"questions-{n}.yml")
        }
        agreed = right = 0
        for item in second:
            both = first[(item["set"], item["q"])] & frozenset(item["expect"])
            if both:
                agreed += 1
                codes = realquestions.engine(kb)(item["q"])
                right += (codes[0] if codes else "abstain") in both
        named = f"{sets[0]}-{sets[-1]}" if len(sets) > 1 else str(sets[0])
        print(
            f"second labeler on sets {named} ({len(second)} questions): the labelers agree on "
            f"{agreed / len(second):.1%};"
        )
        print(f"  dyno doctor on the {agreed} agreed questions: top-1 {right / agreed:.1%}")


if __name__ == "__main__":
    main()
