"""`dynodoc digest --from` on a generated 1,000,000-line Heroku router log.

Prints lines per second, peak RSS of the digest process, and its time as a ratio to
`grep -oE 'code=[HRL][0-9]+' FILE | sort | uniq -c` run in this same script. Targets: at least
1 M lines/s and a peak RSS under 120 MB.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

LINES = int(os.environ.get("BENCH_LINES", "1000000"))
ROOT = Path(__file__).resolve().parent.parent


def generate(path: Path, n: int, seed: int = 3) -> None:
    """A realistic router log: 97% info lines, then H12/H13/H10/H27 errors and R14 runtime lines."""
    rnd = random.Random(seed)
    start = datetime(2024, 5, 10, tzinfo=UTC)
    step = timedelta(days=4) / n
    paths = ["/api/orders/{}", "/reports/{}/export", "/login", "/cart", "/search?q=boots", "/users/{}/avatar"]
    with path.open("w") as out:
        for i in range(n):
            ts = (start + i * step).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
            dyno = f"web.{rnd.randint(1, 6)}"
            p = rnd.choice(paths).format(rnd.randint(1, 99999))
            rid = f"{rnd.getrandbits(128):032x}"
            r = rnd.random()
            if r < 0.97:
                out.write(
                    f'{ts} heroku[router]: at=info method=GET path="{p}" host=acme-api.herokuapp.com '
                    f'request_id={rid} fwd="203.0.113.{rnd.randint(1, 254)}" dyno={dyno} connect=1ms '
                    f"service={rnd.randint(3, 2500)}ms status=200 bytes={rnd.randint(90, 90000)} protocol=https\n"
                )
            elif r < 0.985:
                out.write(
                    f'{ts} heroku[router]: at=error code=H12 desc="Request timeout" method=GET path="{p}" '
                    f'host=acme-api.herokuapp.com request_id={rid} fwd="198.51.100.4" dyno={dyno} connect=0ms '
                    f"service=30000ms status=503 bytes=0 protocol=https\n"
                )
            elif r < 0.993:
                out.write(
                    f'{ts} heroku[router]: at=error code=H13 desc="Connection closed without response" '
                    f'method=POST path="{p}" host=acme-api.herokuapp.com request_id={rid} fwd="198.51.100.4" '
                    f"dyno={dyno} connect=0ms service=2100ms status=503 bytes=0 protocol=https\n"
                )
            elif r < 0.996:
                out.write(
                    f'{ts} heroku[router]: at=warning code=H27 desc="Client Request Interrupted" '
                    f'method=GET path="{p}" host=acme-api.herokuapp.com request_id={rid} fwd="198.51.100.4" '
                    f"dyno={dyno} connect=0ms service=88ms status=499 bytes=0 protocol=https sock=client\n"
                )
            elif r < 0.998:
                out.write(
                    f'{ts} heroku[router]: at=error code=H10 desc="App crashed" method=GET path="/" '
                    f'host=acme-api.herokuapp.com request_id={rid} fwd="198.51.100.4" dyno= connect= '
                    f"service= status=503 bytes= protocol=https\n"
                )
            else:
                out.write(f"{ts} heroku[{dyno}]: Error R14 (Memory quota exceeded)\n")


def _tree_rss_kb(root: int) -> int:
    """Resident memory of a process and all its descendants, from /proc (kB)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/status") as fh:
                rss[int(entry)] = next((int(line.split()[1]) for line in fh if line.startswith("VmRSS:")), 0)
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(pid, 0) for pid in tree)


def timed(cmd: str | list[str], shell: bool = False, sample: bool = False) -> tuple[float, int]:
    """Seconds, and the peak summed RSS (kB) of the process tree when `sample` is set."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, shell=shell, stdout=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        if sample:
            peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.01)
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{cmd} failed with {proc.returncode}")
    return seconds, peak


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "router.log"
        generate(log, LINES)
        size = log.stat().st_size
        dynodoc = [sys.executable, "-m", "bot", "digest", "--from", str(log), "--json"]
        grep = f"grep -oE 'code=[HRL][0-9]+' {log} | sort | uniq -c"
        runs = []
        for _ in range(3):
            grep_s, _ = timed(grep, shell=True)
            ours_s, _ = timed(dynodoc)
            _, rss_kb = timed(dynodoc, sample=True)  # a separate run: sampling /proc costs CPU
            runs.append((ours_s, grep_s, rss_kb))
        runs.sort()
        ours_s, grep_s, _ = runs[1]
        rss_mb = max(r[2] for r in runs) / 1024
        rate = LINES / ours_s
        print(
            f"digest --from: {LINES:,} lines ({size / 1e6:.0f} MB), median of 3: {ours_s:.2f} s = "
            f"{rate / 1e6:.2f} M lines/s (target >= 1 M: {'met' if rate >= 1e6 else 'NOT met'})"
        )
        print(
            f"peak RSS, all processes summed: {rss_mb:.0f} MB "
            f"(target < 120 MB: {'met' if rss_mb < 120 else 'NOT met'})"
        )
        print(f"grep | sort | uniq -c: {grep_s:.2f} s; dynodoc / grep = {ours_s / grep_s:.2f}x")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
