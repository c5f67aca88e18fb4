"""How well `diagnose` reads real pastes (tests/data/real), beside a grep baseline run in the same process.

Prints code recall, precision, root-cause accuracy and quietness on clean logs for both, then, with
`-v`, every paste the engine got wrong. Targets (issue 9): recall >= 0.97, precision >= 0.98, root
cause >= 90 %, nothing reported on clean logs.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from realcorpus import engine, grep_baseline, load_cases, score  # noqa: E402

from bot.knowledge import KnowledgeBase  # noqa: E402


def main() -> None:
    kb = KnowledgeBase.load()
    cases = load_cases()
    ours = score(cases, engine(kb))
    grep = score(cases, grep_baseline(kb))
    print(f"{len(cases)} real pastes from {len({c.url for c in cases})} pages")
    print(f"  dyno doctor: {ours.line()}")
    print(f"  grep -oE   : {grep.line()}")
    if "-v" in sys.argv:
        print("\n".join(["", "Where the engine differs from the expectations:", *ours.misses]))


if __name__ == "__main__":
    main()
