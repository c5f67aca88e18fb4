"""How well `ask` answers real questions (tests/data/real-questions.yml), beside an exact-code regex run in
the same process. Prints top-1, top-3 and the honest-abstain rate; `-v` lists every miss.
Targets (issue 10): top-1 >= 92 %, >= 90 % of the no-fit questions answered with "not sure"."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from realquestions import code_regex_baseline, engine, load_questions, score  # noqa: E402

from bot.knowledge import CONFIDENCE, KnowledgeBase  # noqa: E402


def main() -> None:
    kb = KnowledgeBase.load()
    questions = load_questions()
    ours, regex = score(questions, engine(kb)), score(questions, code_regex_baseline(kb))
    print(f"{len(questions)} real questions")
    print(f"  dyno doctor: {ours.line()}")
    print(f"  code regex : {regex.line()}")
    # The figures behind knowledge.CONFIDENCE: how often a first answer is right, by what decided it, on
    # every real question we hold (the tuning set and the held-out sets, read after their blind figures).
    held = sorted(
        (Path(__file__).resolve().parent.parent / "tests" / "data" / "heldout").glob("questions*.yml")
    )
    asked: dict[str, list[bool]] = {}
    for q in questions + [q for path in held for q in load_questions(path)]:
        answer = kb.lookup(q.q)
        if answer.evidence:
            asked.setdefault(answer.evidence, []).append(answer.best.code in q.expect)
    print("  first answer right, by what decided it (knowledge.CONFIDENCE in brackets):")
    for evidence, hits in sorted(asked.items(), key=lambda kv: -sum(kv[1]) / len(kv[1])):
        print(
            f"    {evidence:8} {sum(hits) / len(hits):.2f} ({sum(hits)}/{len(hits)}) [{CONFIDENCE[evidence]:.2f}]"
        )
    if "-v" in sys.argv:
        print("\n".join(["", "Misses:", *ours.misses]))


if __name__ == "__main__":
    main()
