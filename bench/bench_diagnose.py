"""How long `diagnose` takes on a 40 kB paste (about Slack's message size). Target: median under 10 ms.

Prints the median and p90 over repeated runs, and, as a baseline measured in the same process, the time
to merely split the same text into lines and run one regex over it.
"""

from __future__ import annotations

import random
import re
import statistics
import time

from bot.diagnose import diagnose
from bot.knowledge import KnowledgeBase

TARGET_MS = 10.0


def paste(size: int = 40_000, seed: int = 7) -> str:
    rnd = random.Random(seed)
    lines: list[str] = []
    paths = ["/api/orders/{}", "/reports/{}/export", "/login", "/cart", "/search?q=shoes"]
    t = 0
    while sum(len(x) + 1 for x in lines) < size:
        t += rnd.randint(1, 900)
        ts = f"2024-05-14T09:{t // 60000 % 60:02d}:{t // 1000 % 60:02d}.{t % 1000:03d}000+00:00"
        dyno = f"web.{rnd.randint(1, 3)}"
        path = rnd.choice(paths).format(rnd.randint(1, 99999))
        roll = rnd.random()
        if roll < 0.6:
            lines.append(
                f'{ts} heroku[router]: at=info method=GET path="{path}" host=acme.herokuapp.com '
                f'request_id={rnd.getrandbits(64):016x} fwd="203.0.113.{rnd.randint(1, 254)}" dyno={dyno} '
                f"connect=1ms service={rnd.randint(5, 900)}ms status=200 bytes={rnd.randint(200, 9000)} "
                f"protocol=https"
            )
        elif roll < 0.75:
            lines.append(
                f'{ts} heroku[router]: at=error code=H12 desc="Request timeout" method=GET path="{path}" '
                f'host=acme.herokuapp.com request_id={rnd.getrandbits(64):016x} fwd="203.0.113.9" '
                f"dyno={dyno} connect=0ms service=30000ms status=503 bytes=0 protocol=https"
            )
        elif roll < 0.85:
            lines.append(f"{ts} app[{dyno}]: I, [2024-05-14T09:00:00 #4] INFO -- : Completed 200 OK in 412ms")
        elif roll < 0.92:
            lines.append(
                f"{ts} heroku[{dyno}]: Process running mem={rnd.randint(400, 560)}M(10{rnd.randint(0, 9)}.1%)"
            )
        else:
            lines.append(f"{ts} heroku[{dyno}]: Error R14 (Memory quota exceeded)")
    return "\n".join(lines)[:size]


def median_ms(fn, text: str, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(text)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9)]


def main() -> None:
    kb = KnowledgeBase.load()
    text = paste()
    diagnose(text, kb)  # warm caches (knowledge base, compiled patterns)
    code = re.compile(r"code=([HRL]\d\d)")
    base_med, _ = median_ms(lambda s: [code.search(line) for line in s.splitlines()], text, 200)
    med, p90 = median_ms(lambda s: diagnose(s, kb), text, 100)
    lines = text.count("\n") + 1
    print(
        f"diagnose 40 kB paste ({lines} lines): median {med:.2f} ms, p90 {p90:.2f} ms "
        f"(target < {TARGET_MS:.0f} ms: {'met' if med < TARGET_MS else 'NOT met'})"
    )
    print(f"baseline split+one regex: median {base_med:.3f} ms; diagnose/baseline = {med / base_med:.1f}x")


if __name__ == "__main__":
    main()
