"""Open a log file for streaming: plain or gzip, a path or `-` for stdin, with a progress bar on a terminal."""

from __future__ import annotations

import contextlib
import gzip
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"


def is_plain_file(source: str) -> bool:
    """A regular, uncompressed file: one that can be split and read in parallel."""
    if source == "-" or not os.path.isfile(source):
        return False
    with open(source, "rb") as fh:
        return fh.read(2) != GZIP_MAGIC


@contextlib.contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[float], None] | None]:
    """A `show(fraction)` callback drawing a bar on stderr, or None when stderr is not a terminal."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return

    def show(fraction: float) -> None:
        filled = int(min(1.0, fraction) * 30)
        sys.stderr.write(f"\rreading {'█' * filled}{'·' * (30 - filled)} {min(1.0, fraction):4.0%}")
        sys.stderr.flush()

    try:
        yield show
    finally:
        sys.stderr.write("\r" + " " * 48 + "\r")


@contextlib.contextmanager
def open_log(
    source: str, progress: bool = True
) -> Iterator[tuple[BinaryIO | gzip.GzipFile, str, Callable[[int], None] | None]]:
    """Yield (binary stream, app name guessed from the file name, progress callback or None)."""
    if source == "-":
        raw: BinaryIO = sys.stdin.buffer
        name, size = "stdin", None
    else:
        raw = open(source, "rb")  # noqa: SIM115 - closed below
        name = Path(source).name.split(".")[0] or "app"
        size = os.fstat(raw.fileno()).st_size
    try:
        head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        stream = gzip.GzipFile(fileobj=raw) if head == GZIP_MAGIC else raw
        with progress_bar(progress and bool(size)) as bar:
            # The raw position is right for gzip too: it counts the compressed bytes read so far.
            yield stream, name, (lambda _: bar(raw.tell() / size)) if bar and size else None
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()
