"""Cold start of the web dyno: from launching `dynodoc serve --http` to its port accepting connections.

Heroku kills a web process that has not bound $PORT within 60 s; our target is under 1.5 s. Each run
starts the real command against the fake Slack from the tests (auth.test included), on a fresh
database, and also times the first answer to a signed app_mention once the port is open.

    .venv/bin/python bench/bench_cold_start.py [runs]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.slack import BotProcess, FakeSlack, bot_env, free_port, payload, post_event  # noqa: E402

TARGET_S = 1.5


def one_run(fake: FakeSlack) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        port = free_port()
        bot = BotProcess(
            ["serve", "--http", "--port", str(port), "--host", "127.0.0.1"],
            bot_env(fake, cwd / "dynodoc.db"),
            cwd,
        )
        try:
            bound = bot.wait_port(port)
            channel = f"C0BENCH{time.monotonic_ns()}"
            asked = time.monotonic()
            post_event(
                port,
                payload("event_app_mention", event_id=f"Ev{time.monotonic_ns()}", event={"channel": channel}),
            )
            fake.wait_for("chat.postMessage", channel=channel)
            first_answer = time.monotonic() - asked
        finally:
            bot.stop()
        return bound, first_answer


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    fake = FakeSlack()
    try:
        results = [one_run(fake) for _ in range(runs)]
    finally:
        fake.close()
    bind = sorted(r[0] for r in results)
    answer = sorted(r[1] for r in results)
    median = statistics.median(bind)
    print(
        f"cold start (launch -> port accepting), {runs} runs: median {median:.2f} s "
        f"(min {bind[0]:.2f}, max {bind[-1]:.2f}); target < {TARGET_S} s: {'OK' if median < TARGET_S else 'MISSED'}"
    )
    print(
        f"first answer to a mention after the port opened: median {statistics.median(answer) * 1000:.0f} ms "
        f"(min {answer[0] * 1000:.0f}, max {answer[-1] * 1000:.0f})"
    )
    return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
