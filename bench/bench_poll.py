"""`poll_all` against the fake Heroku and Fly.io servers of the tests, over real HTTP on 127.0.0.1.

Ten Heroku apps with full 1,500-line histories (half SSE, half plain text) and two Fly.io apps with 2,000
entries each (20 pages). Prints the time of a first poll (everything new), of a second one (everything
already stored: the overlap path), lines per second, and the database size. Target: a full first round
in under 2 s, so polling every few minutes costs nothing.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.fly import FakeFly, entry, ns  # noqa: E402
from fakes.heroku import FakeHeroku, history  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.poll import poll_all  # noqa: E402
from bot.store import Store  # noqa: E402


def main() -> None:
    heroku, fly = FakeHeroku(), FakeFly()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=20)
    lines = history(start, minutes=440)[-1500:]
    apps = []
    for i in range(10):
        heroku.add_app(f"api-{i}", lines, stream="sse" if i % 2 else "plain")
        apps.append(f"heroku:api-{i}")
    for i in range(2):
        fly.add_app(
            f"edge-{i}",
            [
                entry(
                    start + timedelta(seconds=s),
                    f"[PC01] instance refused connection #{s}",
                    provider="proxy",
                    level="error",
                )
                if s % 10 == 0
                else entry(start + timedelta(seconds=s), f"GET /api/items/{s} 200 in 12ms")
                for s in range(2000)
            ],
        )
        apps.append(f"fly:edge-{i}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        settings = load_settings(
            {
                "DYNODOC_APPS": ",".join(apps),
                "HEROKU_API_KEY": heroku.api_key,
                "HEROKU_API_URL": heroku.url,
                "FLY_API_TOKEN": fly.token,
                "FLY_API_URL": fly.url,
                "DYNODOC_DB": str(db),
            },
            dotenv=None,
        )
        store = Store(db)
        for i in range(2):  # a cursor from an earlier poll, so the Fly.io apps page through all 2,000 entries
            store.save_lines(f"edge-{i}", "fly", [], cursor=str(ns(start - timedelta(seconds=1))))
        for label in ("first poll (all new)", "second poll (all seen)"):
            began = time.perf_counter()
            results = poll_all(settings, store)
            took = time.perf_counter() - began
            read = sum(r.lines_read for r in results)
            events = sum(r.new_events for r in results)
            assert all(r.outcome == "ok" for r in results), results
            print(
                f"{label}: {len(results)} apps, {read:,} lines in {took:.2f} s = {read / took:,.0f} lines/s, "
                f"{events:,} new events"
            )
        store.close()
        size = sum(p.stat().st_size for p in Path(tmp).glob("bench.db*"))
        print(f"database: {size / 1e6:.1f} MB (events, hourly rollups, line hashes, poll runs)")
    heroku.close()
    fly.close()


if __name__ == "__main__":
    main()
