"""Mutation testing of the core modules with mutmut, one module at a time (`make mutate`).

Each module gets its own working directory `.mutmut/<module>/` (a generated pyproject.toml whose
`[tool.mutmut]` names that one file and the test files that exercise it; `bot`, `tests` and `knowledge`
linked in), so a run collects coverage over those tests only and each mutant then runs just the tests
that called the mutated function. A module that outlives its time budget is stopped; the mutants not
reached by then count as not killed. Prints killed / total and the percentage per module.

    .venv/bin/python bench/mutate.py                 # every module, fresh
    .venv/bin/python bench/mutate.py logs redact     # some of them
    .venv/bin/python bench/mutate.py --survivors     # list the survivors after the scores
    MUTATE_JOBS=1 make mutate                        # one worker instead of two

Run `mutmut show NAME` / `mutmut browse` inside `.mutmut/<module>/` to read a survivor.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutmut"
# Mutants that cannot change behaviour, one name a line with the reason after a `#` (bench/MUTATION.md
# explains each kind). They are shown beside the score, never counted as killed.
EQUIVALENT = Path(__file__).resolve().parent / "mutation-equivalent.txt"
MUTMUT = Path(sys.executable).parent / "mutmut"


@dataclass(frozen=True)
class Target:
    """One module under mutation, the tests that state its behaviour, and its wall-clock budget."""

    source: str
    tests: tuple[str, ...]
    budget_s: int


TARGETS: dict[str, Target] = {
    "logs": Target(
        "bot/logs.py",
        (
            "tests/test_logs.py",
            "tests/test_signatures.py",
            "tests/test_diagnose.py",
            "tests/test_diagnose_corpus.py",
        ),
        600,
    ),
    "diagnose": Target(
        "bot/diagnose.py",
        (
            "tests/test_diagnose.py",
            "tests/test_diagnose_corpus.py",
            "tests/test_real_pastes.py",
            "tests/test_redact_corpus.py",
            "tests/test_signatures.py",
        ),
        900,
    ),
    "redact": Target("bot/redact.py", ("tests/test_redact.py", "tests/test_redact_corpus.py"), 300),
    "digest": Target("bot/digest.py", ("tests/test_digest.py",), 900),
    # The store runs on SQLite and PostgreSQL: its tests run on both engines, so it gets the longest budget.
    # Not test_instances.py: its `dynodoc serve` processes run the store unmutated (mutmut sees only this
    # process), so those 13 s would only be spent again on every mutant that survives.
    "store": Target(
        "bot/store.py",
        (
            "tests/test_store.py",
            "tests/test_poll_store.py",
            "tests/test_store_faults.py",
            "tests/test_store_engines.py",
            "tests/test_store_feedback.py",
        ),
        1500,
    ),
    # Both engines. Not test_instances.py: its `dynodoc serve` processes run jobs.py unmutated.
    "jobs": Target("bot/jobs.py", ("tests/test_jobs.py",), 1500),
    "dedupe": Target("bot/slack/dedupe.py", ("tests/test_dedupe.py",), 120),
    "signatures": Target(
        "bot/signatures.py", ("tests/test_signatures.py", "tests/test_logs.py", "tests/test_diagnose.py"), 600
    ),
    "failures": Target(
        "bot/failures.py",
        ("tests/test_signatures.py", "tests/test_diagnose.py", "tests/test_diagnose_corpus.py"),
        300,
    ),
}

# mutmut's statuses (`mutmut results --all true`). A timeout is a mutant the tests stopped: killed.
KILLED = {"killed", "timeout", "caught by type check"}


def workdir(name: str, target: Target, *, fresh: bool) -> Path:
    """`.mutmut/<name>/`: the project's pyproject.toml plus this module's `[tool.mutmut]`, sources linked."""
    where = WORK / name
    if fresh and where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True, exist_ok=True)
    for linked in ("bot", "tests", "knowledge"):
        link = where / linked
        if not link.exists():
            link.symlink_to(ROOT / linked, target_is_directory=True)
    selection = ", ".join(f'"{t}"' for t in target.tests if (ROOT / t).exists())
    config = (
        (ROOT / "pyproject.toml").read_text()
        + "\n[tool.mutmut]\n"
        + 'source_paths = ["bot"]\n'
        + f'only_mutate = ["{target.source}"]\n'
        + 'also_copy = ["knowledge"]\n'
        + f"pytest_add_cli_args_test_selection = [{selection}]\n"
        + 'pytest_add_cli_args = ["-p", "no:cacheprovider"]\n'
        # A mutant that loops forever is stopped after 3x its tests' CPU time (mutmut's default, 15x, spent
        # a minute on each such mutant of the digest's file reader).
        + "timeout_multiplier = 3.0\n"
    )
    (where / "pyproject.toml").write_text(config)
    return where


def run_module(where: Path, budget_s: int, jobs: int) -> tuple[float, bool]:
    """`mutmut run` in `where`, stopped (the whole process group) when the budget is spent."""
    started = time.monotonic()
    log = (where / "mutmut.log").open("w")
    # The test sessions' temporary files and PostgreSQL servers go in a folder of this run: a mutant
    # stopped by its timeout never reaches its teardown, so its server is stopped here afterwards.
    scratch = Path(tempfile.mkdtemp(prefix="dynodoc-mutate-"))
    scratch.chmod(0o755)  # the servers' own folders inside belong to the `postgres` user
    proc = subprocess.Popen(
        [str(MUTMUT), "run", "--max-children", str(jobs)],
        cwd=where,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    try:
        proc.wait(timeout=budget_s)
        over = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        over = True
    # A mutant stopped mid-way through the digest's parallel read leaves its pool's workers waiting
    # forever; they are in mutmut's process group, so the group goes with it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()
    if not over and proc.returncode:
        print(f"   mutmut ended with exit status {proc.returncode}: see {where / 'mutmut.log'}", flush=True)
    left = _pgserver().stop_servers_under(scratch)
    if left:
        print(f"   stopped {left} PostgreSQL server(s) left by test sessions that were cut short", flush=True)
    shutil.rmtree(scratch, ignore_errors=True)
    return time.monotonic() - started, over


def results(where: Path) -> dict[str, str]:
    """Mutant name -> mutmut's status, from `mutmut results --all true`."""
    out = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"], cwd=where, capture_output=True, text=True, check=False
    ).stdout
    statuses = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith("bot."):
            statuses[name] = status
    return statuses


def _pgserver():
    """tests/pgserver.py, which starts the tests' PostgreSQL servers."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import pgserver
    finally:
        sys.path.remove(str(ROOT / "tests"))
    return pgserver


@contextlib.contextmanager
def postgres_servers(count: int) -> Iterator[None]:
    """PostgreSQL for the run: `count` servers kept running and lent to one test session at a time (a
    mutant's session then needs no server of its own: 0.6 s saved on thousands of them), and one initdb'd
    folder that a session copies when none is free. See tests/pgserver.py."""
    pgserver = _pgserver()
    try:
        folder = pgserver.PostgresServer.make_template()
    except pgserver.PostgresUnavailable as exc:
        print(f"(no PostgreSQL for the run, each test session starts its own: {exc})", flush=True)
        yield
        return
    os.environ[pgserver.TEMPLATE] = str(folder)
    servers = []
    try:
        for _ in range(count):
            servers.append(pgserver.PostgresServer.start())
        os.environ[pgserver.SERVERS] = ",".join(f"{s.port}:{s.folder}" for s in servers)
        yield
    finally:
        os.environ.pop(pgserver.SERVERS, None)
        del os.environ[pgserver.TEMPLATE]
        for server in servers:
            server.stop()
        shutil.rmtree(folder.parent, ignore_errors=True)


def equivalent() -> set[str]:
    """The mutant names listed in bench/mutation-equivalent.txt."""
    if not EQUIVALENT.exists():
        return set()
    names = (line.split("#", 1)[0].strip() for line in EQUIVALENT.read_text().splitlines())
    return {name for name in names if name}


def run_all(names: list[str], args: argparse.Namespace, listed: set[str]) -> list[tuple]:
    """Each module in turn: its score printed as it ends, and a row for the table."""
    rows = []
    for name in names:
        target = TARGETS[name]
        where = workdir(name, target, fresh=not args.resume)
        print(f"== {name} ({target.source}; budget {target.budget_s} s)", flush=True)
        elapsed, over = run_module(where, target.budget_s, args.jobs)
        statuses = results(where)
        killed = sum(status in KILLED for status in statuses.values())
        total = len(statuses)
        pct = 100.0 * killed / total if total else 0.0
        same = {m for m, status in statuses.items() if m in listed and status not in KILLED}
        stale = {m for m, status in statuses.items() if m in listed and status in KILLED}
        note = " (budget spent: the rest count as not killed)" if over else ""
        print(f"   {killed}/{total} killed = {pct:.1f} % in {elapsed:.0f} s{note}", flush=True)
        if same:
            rest = total - len(same)
            print(
                f"   {len(same)} listed as equivalent: {killed}/{rest} = {100.0 * killed / rest:.1f} % of the others"
            )
        if stale:
            print(
                f"   {len(stale)} listed as equivalent were killed: take them off the list: {sorted(stale)}"
            )
        if total == 0:
            print(f"   no mutants: see {where / 'mutmut.log'}")
        if args.survivors:
            for mutant, status in sorted(statuses.items()):
                if status not in KILLED and mutant not in same:
                    print(f"     {status:12} {mutant}")
        rows.append((name, killed, total, pct, len(same), elapsed))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(TARGETS)}")
    parser.add_argument("--survivors", action="store_true", help="list the mutants not killed")
    parser.add_argument("--resume", action="store_true", help="keep earlier results (mutmut's cache)")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("MUTATE_JOBS", "2")))
    args = parser.parse_args(argv)
    names = args.modules or list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"no such module: {', '.join(unknown)} (choose from {', '.join(TARGETS)})")
    listed = equivalent()
    total_started = time.monotonic()
    with postgres_servers(max(args.jobs, 1)):
        rows = run_all(names, args, listed)
    print(f"\n{'module':12} {'killed':>7} {'total':>6} {'score':>7} {'equiv.':>7} {'others':>7} {'time':>6}")
    for name, killed, total, pct, same_n, elapsed in rows:
        others = 100.0 * killed / (total - same_n) if total > same_n else 0.0
        print(f"{name:12} {killed:7} {total:6} {pct:6.1f}% {same_n:7} {others:6.1f}% {elapsed:5.0f}s")
    print(f"wall time {time.monotonic() - total_started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
