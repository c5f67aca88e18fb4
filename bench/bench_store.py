"""The store as events pile up: the daily digest and one retention pass at 10 k, 100 k and 1 M stored
events, on SQLite and on PostgreSQL (a real server started as the tests start it), beside a plain
`SELECT count(*) FROM events` on the same table as the anchor.

Events are spread over the 30 days of retention (plus 6 expired hours) for 3 apps, 8 codes, 40 paths
and 12 dynos. "digest" is `build_stored_digest` for the 3 apps (what the bot posts); "retention" is
one `enforce_retention` pass deleting the hour that just expired (about 1/726 of the events). Medians
of 5 runs. The PostgreSQL tables are VACUUM ANALYZEd after each load, as autovacuum would. Target: the digest
under 0.3 s at 1 M events on both engines.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from pgserver import PostgresServer  # noqa: E402

from bot.config import Settings, WatchedApp  # noqa: E402
from bot.jobs import build_stored_digest  # noqa: E402
from bot.knowledge import KnowledgeBase  # noqa: E402
from bot.store import Store, iso  # noqa: E402

END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
APPS = ("shop-api", "shop-web", "edge")
CODES = ("H12", "H12", "H12", "H10", "H13", "R14", "H18", "H27", "R15", "H11")
SIZES = (10_000, 100_000, 1_000_000)
EXPIRED_HOURS = 6
COLUMNS = (
    "app",
    "platform",
    "time",
    "code",
    "kind",
    "dyno",
    "region",
    "path",
    "status",
    "service_ms",
    "line",
    "line_hash",
)


def events(count: int, seed: int, first_id: int):
    rng = random.Random(seed)
    span = int((timedelta(days=30, hours=EXPIRED_HOURS)).total_seconds())
    paths = [f"/api/v1/resource{i}/{{id}}" for i in range(40)]
    for n in range(first_id, first_id + count):
        t = END - timedelta(seconds=rng.randrange(span), microseconds=rng.randrange(1_000_000))
        code = rng.choice(CODES)
        yield (
            rng.choice(APPS),
            "heroku",
            iso(t),
            code,
            "router",
            f"web.{rng.randrange(12)}",
            None,
            rng.choice(paths),
            503,
            30000,
            f'{iso(t)} heroku[router]: at=error code={code} desc="Request timeout" method=GET path="/x" '
            f"request_id={n:032x} status=503",
            f"{n:032x}",
        )


def load(store: Store, count: int, seed: int, first_id: int) -> None:
    """Bulk-load events (COPY on PostgreSQL), then the hourly counts and rollups polling would keep."""
    rows = events(count, seed, first_id)
    if store.dialect == "postgres":
        import psycopg

        copy_sql = f"COPY events ({', '.join(COLUMNS)}) FROM STDIN"
        with (
            psycopg.connect(store.url) as conn,  # type: ignore[attr-defined]
            conn.cursor() as cur,
            cur.copy(copy_sql) as copy,
        ):
            for row in rows:
                copy.write_row(row)
    else:
        store.insert_rows("events", [dict(zip(COLUMNS, row, strict=True)) for row in rows])
    store.execute("DELETE FROM code_hours")
    store.execute(
        "INSERT INTO code_hours (app, hour, code, events) "
        "SELECT app, substr(time, 1, 13) || ':00:00.000000+00:00', code, COUNT(*) FROM events GROUP BY 1, 2, 3"
    )
    store.execute("DELETE FROM rollups")
    store.execute(
        "INSERT INTO rollups (app, hour, requests, errors, status_5xx, service_hist) "
        'SELECT app, hour, events * 20, events, events, \'{"5": 10, "21": 1}\' FROM code_hours'
        " WHERE code = 'H12'"
    )
    if store.dialect == "postgres":
        import psycopg

        # What autovacuum does after inserts this size (it is not waited for here): statistics, and the
        # visibility map that lets the digest read the covering index alone.
        with psycopg.connect(store.url, autocommit=True) as conn:  # type: ignore[attr-defined]
            conn.execute("VACUUM ANALYZE")


def median(step: Callable[[int], object], runs: int = 5) -> float:
    times = []
    for i in range(runs):
        start = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(
    store: Store, kb: KnowledgeBase, settings: Settings, retention_round: list[int]
) -> tuple[float, ...]:
    count = median(lambda _: store.query("SELECT count(*) FROM events"))
    digest = median(lambda _: build_stored_digest(store, settings, END, kb=kb))

    def retention(_: int) -> None:
        # Each pass is an hour later, so it deletes the next expired hour (the steady state).
        retention_round[0] += 1
        now = END - timedelta(hours=EXPIRED_HOURS) + timedelta(hours=retention_round[0])
        store.enforce_retention(30, now, every=timedelta(0))

    retention_round[0] = 0
    store.execute("DELETE FROM chores")  # the hourly guard of retention starts afresh at each size
    purge = median(retention, runs=EXPIRED_HOURS - 1)
    return count, digest, purge


def bench(label: str, target: str, kb: KnowledgeBase) -> None:
    settings = Settings(apps=tuple(WatchedApp("heroku", a) for a in APPS))
    store = Store(target)
    if store.dialect == "postgres":
        store.url = target  # type: ignore[attr-defined]
    loaded = 0
    for size in SIZES:
        load(store, size - loaded, seed=size, first_id=loaded)
        loaded = size
        stored = store.query("SELECT count(*) FROM events")[0][0]
        count, digest, purge = measure(store, kb, settings, [0])
        flag = "ok" if digest < 0.3 else "OVER 0.3 s"
        print(
            f"{label:10} {stored:>9,} events  count(*) {count * 1000:7.1f} ms   digest {digest * 1000:7.1f} ms"
            f" ({flag})   retention (1 h) {purge * 1000:7.1f} ms",
            flush=True,
        )
    store.close()


def main() -> None:
    kb = KnowledgeBase.load()
    with TemporaryDirectory() as folder:
        bench("SQLite", str(Path(folder) / "bench.db"), kb)
    server = PostgresServer.start()
    try:
        bench("PostgreSQL", server.new_database(), kb)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
