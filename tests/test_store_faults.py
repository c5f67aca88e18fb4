"""Storage faults are one line with the fix, never a traceback; parallel first starts are safe."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.store import MIGRATIONS, Store, StoreError, explain


def _status(tmp_path, db) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "status"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"DYNODOC_DB": str(db), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )


@pytest.mark.parametrize(
    "setup, words",
    [
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: None, "folder that does not exist"),
        (
            lambda p: p.write_bytes(
                b"this is not a database, it is a text file that happens to be here" * 20
            ),
            "not an SQLite database",
        ),
    ],
)
def test_a_bad_database_path_is_one_line_with_the_fix(tmp_path, setup, words):
    db = tmp_path / "data" / "dynodoc.db" if "folder" in words else tmp_path / "dynodoc.db"
    setup(db)
    result = _status(tmp_path, db)
    assert result.returncode == 2
    assert words in result.stderr and "DYNODOC_DB=" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "error, words",
    [
        (sqlite3.OperationalError("attempt to write a readonly database"), "read-only"),
        (sqlite3.OperationalError("database or disk is full"), "disk is full"),
        (PermissionError(13, "Permission denied"), "read-only"),
    ],
)
def test_write_faults_are_explained(tmp_path, error, words):
    assert words in str(explain(error, str(tmp_path / "x.db")))


def test_a_writable_database_is_healthy(store):
    assert store.healthy(every=0) is None
    assert store.healthy(every=0) is None  # the probe row is written again, not added


def test_parallel_first_starts_on_a_new_database_all_succeed(database):
    # Several dynos (or processes) starting at once on a new database: one migrates, the others wait.
    def start(_):
        store = Store(database)
        version = store.version
        store.close()
        return version

    with ThreadPoolExecutor(8) as pool:
        versions = list(pool.map(start, range(8)))
    assert versions == [len(MIGRATIONS)] * 8


def test_store_error_is_a_config_error_so_the_cli_says_it_in_one_line():
    from bot.config import ConfigError

    assert issubclass(StoreError, ConfigError)
