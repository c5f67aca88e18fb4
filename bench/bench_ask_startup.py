"""How long `dynodoc ask "what is R15?"` takes from launch to answer, as a ratio to `python -c pass` run in
the same process loop (the interpreter's own start-up is the floor)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

DYNODOC = [str(Path(sys.executable).with_name("dynodoc"))]


def median_run(cmd: list[str], runs: int = 10) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    floor = median_run([sys.executable, "-c", "pass"])
    code = median_run([*DYNODOC, "ask", "what is R15?"])
    text = median_run([*DYNODOC, "ask", "my app keeps running out of memory"])
    print(f"python -c pass: median {floor * 1000:.0f} ms")
    print(
        f"dynodoc ask 'what is R15?' (no full-text index): median {code * 1000:.0f} ms = {code / floor:.1f}x"
    )
    print(f"dynodoc ask with free text (builds the index): median {text * 1000:.0f} ms = {text / floor:.1f}x")


if __name__ == "__main__":
    main()
