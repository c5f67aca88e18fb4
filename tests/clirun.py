"""Run `dynodoc` the way a user does: a real subprocess with real stdin, output decoded as text."""

from __future__ import annotations

import os
import subprocess
import sys


def child_environ(**extra: str) -> dict[str, str]:
    """The environment for a `dynodoc` child process: this one's, plus `extra`.

    Under `make mutate`, mutmut first runs the tests once to record which of them call each function
    (MUTANT_UNDER_TEST=stats). A child cannot record (it finds no mutmut settings in the test's folder) and
    would crash, so during that run children run the code as it is. With a mutant under test, children run
    the mutant too, so a test that drives the CLI can kill it."""
    env = {**os.environ, **extra}
    if env.get("MUTANT_UNDER_TEST") == "stats":
        del env["MUTANT_UNDER_TEST"]
    return env


def dynodoc(
    *args: str, stdin: bytes = b"", env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=child_environ(**(env or {})),
    )
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )
