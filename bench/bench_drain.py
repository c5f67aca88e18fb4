"""Heroku drain ingest over real HTTP on 127.0.0.1: the bot's WSGI server with `/drains/heroku/<app>`,
fed Logplex-framed batches by several client threads at once, as Logplex's drain workers would.

A busy app serves ~100 requests a second (one router line each); the target is 10x that, 1,000 lines a
second, with a p99 request latency well under Logplex's patience (it retries slow drains). Printed beside
the same requests to a drain that stores nothing (HTTP and framing only), run in the same process, and
the process's peak memory.
"""

from __future__ import annotations

import resource
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from wsgiref.simple_server import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import httpx  # noqa: E402
from fakes import logplex  # noqa: E402
from fakes.heroku import router  # noqa: E402

from bot.config import Settings, WatchedApp  # noqa: E402
from bot.drain import DrainIngest, parse_frames  # noqa: E402
from bot.slack.app import RequestHandler, ThreadingWSGIServer  # noqa: E402
from bot.store import Store, utcnow  # noqa: E402

TOKEN = "bench-drain-token-0123456789"
BATCH = 100  # lines per request: Logplex sends up to a few hundred
REQUESTS = 120
CLIENTS = 4


def serve(handle) -> tuple[ThreadingWSGIServer, int]:
    def application(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        status, text = handle(environ["PATH_INFO"], environ, body)
        start_response(status, [("Content-Length", str(len(text)))])
        return [text.encode()]

    server = make_server(
        "127.0.0.1", 0, application, server_class=ThreadingWSGIServer, handler_class=RequestHandler
    )
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, server.server_port


def run(port: int, bodies: list[bytes]) -> tuple[float, list[float]]:
    url = f"http://127.0.0.1:{port}/drains/heroku/busy-api"
    latencies: list[float] = []
    lock = threading.Lock()
    todo = list(bodies)

    def client() -> None:
        with httpx.Client() as http:
            while True:
                with lock:
                    if not todo:
                        return
                    content = todo.pop()
                started = time.perf_counter()
                response = logplex.post(url, password=TOKEN, raw=content, client=http)
                took = time.perf_counter() - started
                assert response.status_code == 204, response.status_code
                with lock:
                    latencies.append(took)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies


def main() -> None:
    now = utcnow()
    bodies = []
    for r in range(REQUESTS):
        lines = [
            router(now + timedelta(milliseconds=r * BATCH + i), f"/orders/{r}/{i}", 200, 40 + i % 50)
            if i % 10
            else router(
                now + timedelta(milliseconds=r * BATCH + i),
                f"/export/{r}",
                503,
                30000,
                code="H12",
                desc="Request timeout",
            )
            for i in range(BATCH)
        ]
        bodies.append(logplex.body(lines))
    lines_total = REQUESTS * BATCH

    def nothing(path, environ, body):  # the anchor: HTTP and framing, nothing stored
        parse_frames(body)
        return "204 No Content", ""

    server, port = serve(nothing)
    anchor_s, anchor_lat = run(port, bodies)
    server.shutdown()

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        settings = Settings(apps=(WatchedApp("heroku", "busy-api"),), drain_token=TOKEN)
        ingest = DrainIngest(settings, store)
        server, port = serve(ingest.handle)
        took, latencies = run(port, bodies)
        server.shutdown()
        [(stored,)] = store.query("SELECT COUNT(*) FROM events")
        store.close()

    def p(xs: list[float], q: float) -> float:
        return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] * 1000

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{REQUESTS} requests x {BATCH} lines from {CLIENTS} clients ({lines_total} lines, {stored} H12 events stored)"
    )
    print(
        f"  drain (parse, redact, store): {lines_total / took:,.0f} lines/s; request p50 {p(latencies, 0.5):.1f} ms, "
        f"p99 {p(latencies, 0.99):.1f} ms, median {statistics.median(latencies) * 1000:.1f} ms"
    )
    print(
        f"  anchor (HTTP + framing only): {lines_total / anchor_s:,.0f} lines/s; request p99 {p(anchor_lat, 0.99):.1f} ms"
    )
    print(f"  target 1,000 lines/s (10x a 100 req/s app): {lines_total / took / 1000:.1f}x the target")
    print(f"  peak memory of this process: {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
