"""A real, throwaway PostgreSQL server for the tests and the bench: initdb into a temp folder, pg_ctl start
on 127.0.0.1 (a free port), one fresh database per test, everything removed at the end.

`initdb` refuses to run as root, so when we are root the server's commands run as the unprivileged
`postgres` user (`runuser -u postgres --`). The binaries come from PG_BIN, else the newest
/usr/lib/postgresql/*/bin, else PATH; `.ci/run` installs the Debian package when none is there.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER = "dynodoc"
PASSWORD = "test-only-password"  # a throwaway server on 127.0.0.1 that lives as long as the test run
# An initdb'd data folder to copy instead of running initdb (0.1 s instead of 0.8 s): `make mutate` starts
# a test session, and so a server, for each of thousands of mutants (bench/mutate.py makes the folder).
TEMPLATE = "PG_TEMPLATE"
# Servers already running ("port:folder,..."), lent to one test session at a time: `make mutate` keeps one
# per worker, so a mutant's test session needs no server of its own.
SERVERS = "PG_SERVERS"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be started here; the message says why and what to install."""


def find_bin() -> Path:
    explicit = os.environ.get("PG_BIN")
    candidates = [Path(explicit)] if explicit else []
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).parent)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise PostgresUnavailable(
        "no PostgreSQL server binaries (initdb, pg_ctl): install them (apt-get install postgresql, "
        "which .ci/run does) or set PG_BIN"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, folder: Path, port: int, bindir: Path, as_user: list[str], borrowed=None):
        self.folder, self.port, self.bindir, self._as = folder, port, bindir, as_user
        self._names = itertools.count(1)
        self._conn = None
        self._borrowed = borrowed  # the locked file of a server lent by PG_SERVERS: kept running at stop()

    @classmethod
    def _new(cls) -> PostgresServer:
        """A server's folder (owned by `postgres` when we are root) and a free port; nothing started."""
        bindir = find_bin()
        as_user: list[str] = []
        folder = Path(tempfile.mkdtemp(prefix="dynodoc-pg-"))
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(folder, ignore_errors=True)
                raise PostgresUnavailable(
                    "running as root and there is no unprivileged 'postgres' user for initdb"
                ) from None
            os.chown(folder, owner.pw_uid, owner.pw_gid)
            as_user = ["runuser", "-u", "postgres", "--"]
        return cls(folder, _free_port(), bindir, as_user)

    @classmethod
    def start(cls) -> PostgresServer:
        borrowed = cls.borrow()
        if borrowed:
            return borrowed
        server = cls._new()
        try:
            server._init_and_start()
        except PostgresUnavailable:
            server.stop()
            raise
        return server

    @classmethod
    def borrow(cls) -> PostgresServer | None:
        """A server of PG_SERVERS that no other test session is using (a lock on a file in its folder says
        so), cleared of what an earlier session left behind; None when there is none free."""
        for item in filter(None, os.environ.get(SERVERS, "").split(",")):
            port, folder = item.split(":", 1)
            lock = (Path(folder) / "borrowed").open("a")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
            server = cls(Path(folder), int(port), find_bin(), as_user, borrowed=lock)
            server._clear()
            return server
        return None

    def _clear(self) -> None:
        """As good as new: no session of an earlier test run (a killed one leaves some), no test schemas
        or databases."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            others = "pid <> pg_backend_pid() AND backend_type = 'client backend'"
            conn.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {others}")
            deadline = time.monotonic() + 10
            while conn.execute(f"SELECT count(*) FROM pg_stat_activity WHERE {others}").fetchone()[0]:
                if time.monotonic() > deadline:
                    raise PostgresUnavailable("the sessions of an earlier test run did not end")
                time.sleep(0.01)
            for (name,) in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'"
            ).fetchall():
                conn.execute(f"DROP SCHEMA {name} CASCADE")
            for (name,) in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'd\\_%'"
            ).fetchall():
                conn.execute(f"DROP DATABASE {name}")

    @classmethod
    def make_template(cls) -> Path:
        """An initdb'd data folder, never started, for PG_TEMPLATE (remove its parent when done)."""
        server = cls._new()
        try:
            server._initdb(server.folder / "template")
        except PostgresUnavailable:
            server.stop()
            raise
        return server.folder / "template"

    def _run(self, *args: str, timeout: float = 120) -> None:
        try:
            result = subprocess.run(
                [*self._as, *args], capture_output=True, text=True, timeout=timeout, cwd=self.folder
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresUnavailable(f"{Path(args[0]).name} failed: {exc}") from None
        if result.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{Path(args[0]).name} exited with {result.returncode}: "
                f"{(result.stderr or result.stdout).strip()[-1500:]}\n{tail}"
            )

    def _init_and_start(self) -> None:
        data = self.folder / "data"
        template = os.environ.get(TEMPLATE)
        if template and (Path(template) / "PG_VERSION").exists():
            self._run("cp", "-a", template, str(data))  # as the server's user: owner and modes kept
        else:
            self._initdb(data)
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.folder}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(self.folder / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def _initdb(self, data: Path) -> None:
        pwfile = self.folder / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self._as:
            owner = pwd.getpwnam("postgres")
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "--encoding=UTF8",
            "--no-sync",
        )

    def url(self, database: str = "postgres", password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        """One statement on the server's own connection (kept open: every test makes and drops a schema)."""
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url(), autocommit=True)
        try:
            self._conn.execute(sql)
        except psycopg.OperationalError:  # the connection was lost: once more on a new one
            self._conn = psycopg.connect(self.url(), autocommit=True)
            self._conn.execute(sql)

    def new_database(self) -> str:
        """A fresh, empty place for one test's tables; returns its DATABASE_URL. A schema of its own in
        one database (10 ms) rather than a database of its own (300 ms): the URL sets search_path."""
        name = f"t_{os.getpid()}_{next(self._names)}"
        self._admin(f"CREATE SCHEMA {name}")
        return self.url() + f"?options=-csearch_path%3D{name}"

    def drop_database(self, url: str) -> None:
        name = url.rsplit("%3D", 1)[1]
        self._admin(f"DROP SCHEMA IF EXISTS {name} CASCADE")

    def new_real_database(self) -> str:
        """A database of its own (300 ms), for a test that looks at its sessions in pg_stat_activity."""
        name = f"d_{os.getpid()}_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop_real_database(self, url: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._borrowed is not None:  # lent for this session only: the next one clears it
            self._borrowed.close()
            return
        if (self.folder / "data" / "postmaster.pid").exists():
            subprocess.run(
                [
                    *self._as,
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.folder / "data"),
                    "-m",
                    "immediate",
                    "stop",
                ],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(self.folder, ignore_errors=True)


def stop_servers_under(folder: Path) -> int:
    """Stop every server still running under `folder` and return how many: a test session killed before
    its teardown (a mutant stopped by its timeout, in `make mutate`) leaves its server behind."""
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    left = [pid.parent.parent for pid in folder.glob("dynodoc-pg-*/data/postmaster.pid")]
    for server_folder in left:
        PostgresServer(server_folder, 0, find_bin(), as_user).stop()
    return len(left)


def waiting_for_lock(conn, key: int) -> int:
    """How many sessions wait for the advisory lock `key` (pg_locks shows a bigint key as two halves)."""
    return conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND classid = %s AND objid = %s AND objsubid = 1",
        [(key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF],
    ).fetchone()[0]
