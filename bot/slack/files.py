"""Files shared in Slack (.log, .txt, .json, .gz and text snippets) -> their text, within a size cap.

Slack serves a file's `url_private` only with the bot token (scope files:read). The token is sent only
to Slack's own hosts (or to the host of SLACK_API_URL, so tests can serve files from a fake).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot import messages
from bot.paste import MAX_PASTE_CHARS, decode, gunzip

EXTENSIONS = (".log", ".txt", ".json", ".gz")
TEXT_FILETYPES = ("text", "json", "gzip", "log")
MAX_FILE_BYTES = 5_000_000  # what Slack's file says it weighs; above this we don't download
MAX_TEXT_BYTES = MAX_PASTE_CHARS * 2  # after gunzip; the diagnosis cuts the text itself
TIMEOUT_S = 20


@dataclass(frozen=True)
class FileText:
    name: str
    text: str = ""
    problem: str = ""  # why there is no text: not downloadable, not readable
    too_big: int = 0  # the size in bytes, when that is the problem

    @property
    def note(self) -> str:
        """What to tell the person who shared it, when there is no text."""
        if self.too_big:
            return messages.FILE_TOO_BIG.format(
                name=self.name, size=human_size(self.too_big), cap=human_size(MAX_FILE_BYTES)
            )
        return messages.FILE_UNREADABLE.format(name=self.name, reason=self.problem) if self.problem else ""


def wanted(file: dict[str, Any]) -> bool:
    """Whether a shared file is one we read: a log-ish extension, a text type, or a Slack snippet."""
    if file.get("mode") in ("tombstone", "hidden_by_limit", "external"):
        return False
    name = str(file.get("name") or file.get("title") or "").lower()
    return (
        name.endswith(EXTENSIONS) or file.get("filetype") in TEXT_FILETYPES or file.get("mode") == "snippet"
    )


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} bytes"  # pragma: no cover


def _token_allowed(url: str, api_url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    api_host = (urlsplit(api_url).hostname or "").lower()
    return bool(host) and (host == "slack.com" or host.endswith(".slack.com") or host == api_host)


def fetch(file: dict[str, Any], token: str, api_url: str) -> FileText:
    """Download a shared file with the bot token and return its text (or why there is none)."""
    import httpx  # only when a file is shared: keeps the bot's start-up lean

    name = str(file.get("name") or file.get("title") or file.get("id") or "file")
    size = int(file.get("size") or 0)
    if size > MAX_FILE_BYTES:
        return FileText(name, too_big=size)
    url = file.get("url_private_download") or file.get("url_private")
    if not url:
        return FileText(name, problem="Slack gave no download link for it")
    if not _token_allowed(url, api_url):
        return FileText(name, problem="its link is not on Slack's file server")
    data = bytearray()
    try:
        with httpx.stream(
            "GET", url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT_S, follow_redirects=True
        ) as response:
            if response.status_code != 200:
                return FileText(name, problem=f"Slack answered HTTP {response.status_code}")
            if "text/html" in response.headers.get("content-type", ""):
                # Slack serves its sign-in page instead of the file when the token lacks files:read.
                return FileText(
                    name,
                    problem="Slack sent a web page instead of the file (is the files:read scope granted?)",
                )
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > MAX_FILE_BYTES:
                    return FileText(name, too_big=len(data))
    except httpx.HTTPError as exc:
        return FileText(name, problem=f"the download failed ({type(exc).__name__})")
    raw = bytes(data)
    if name.lower().endswith(".gz") or raw[:2] == b"\x1f\x8b":
        try:
            raw = gunzip(raw, MAX_TEXT_BYTES)
        except zlib.error:
            return FileText(name, problem="it is not a readable gzip file")
    return FileText(name, text=decode(raw[:MAX_TEXT_BYTES]))
