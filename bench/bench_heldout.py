"""The held-out sets (tests/data/heldout): real pastes and questions collected after the engine was built,
so a figure on them says how the bot does on text it was not shaped by. Prints both beside their baselines."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

import realcorpus  # noqa: E402
import realquestions  # noqa: E402

from bot.knowledge import KnowledgeBase  # noqa: E402


def main() -> None:
    kb = KnowledgeBase.load()
    cases = realcorpus.load_cases(TESTS / "data" / "heldout" / "pastes")
    second_pastes = realcorpus.load_cases(TESTS / "data" / "heldout" / "pastes-2")
    questions = realquestions.load_questions(TESTS / "data" / "heldout" / "questions.yml")
    second = realquestions.load_questions(TESTS / "data" / "heldout" / "questions-2.yml")
    pastes = realcorpus.score(cases, realcorpus.engine(kb))
    asked = realquestions.score(questions, realquestions.engine(kb))
    print(f"held-out pastes ({len(cases)}):")
    print(f"  dyno doctor: {pastes.line()}")
    print(f"  grep -oE   : {realcorpus.score(cases, realcorpus.grep_baseline(kb)).line()}")
    print(f"second held-out pastes ({len(second_pastes)}):")
    for name, part in (("odd half", second_pastes[0::2]), ("even half", second_pastes[1::2])):
        print(f"  {name:<10} : {realcorpus.score(part, realcorpus.engine(kb)).line()}")
    print(f"  grep -oE   : {realcorpus.score(second_pastes, realcorpus.grep_baseline(kb)).line()}")
    print(f"held-out questions ({len(questions)}):")
    print(f"  dyno doctor: {asked.line()}")
    print(f"  code regex : {realquestions.score(questions, realquestions.code_regex_baseline(kb)).line()}")
    print(f"second held-out questions ({len(second)}):")
    for name, part in (("odd half", second[0::2]), ("even half", second[1::2])):
        print(f"  {name:<10} : {realquestions.score(part, realquestions.engine(kb)).line()}")
    print(f"  code regex : {realquestions.score(second, realquestions.code_regex_baseline(kb)).line()}")
    if "-v" in sys.argv:
        print("\n".join(["", *pastes.misses, *asked.misses]))


if __name__ == "__main__":
    main()
