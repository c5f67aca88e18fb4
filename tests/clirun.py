"""Run `dynodoc` the way a user does: a real subprocess with real stdin, output decoded as text."""

from __future__ import annotations

import os
import subprocess
import sys


def dynodoc(
    *args: str, stdin: bytes = b"", env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )
