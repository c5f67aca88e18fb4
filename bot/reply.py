"""Decide what a message is — a question or a paste — and produce the core's reply to it.

The Slack listeners and the offline console both call `respond`, so the two always agree.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from bot.diagnose import Diagnosis, diagnose
from bot.knowledge import Answer, KnowledgeBase, clean_question
from bot.paste import unslack

# Signs of pasted log text or an error body rather than a question.
_PASTE_SIGNS = re.compile(
    r"```|\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d|\b(?:heroku|app|proxy|runner)\[[^\]\s]{1,64}\]|\bat=(?:error|info|warning)\b"
    r"|^\s*\{\s*\"|^\s*\{\s*$|\bHTTP/[0-9.]{1,3} [1-5]\d\d\b|\"(?:type|error)\"\s*:|\bError [HRL]\d\d \(|\bProcess exited\b"
    r"|\bState changed from\b|Traceback \(most recent call last\)|\[P[A-Z]\d\d\] \w"
    # SDK exception lines and CLI errors, the way API errors are most often pasted
    r"|'(?:type|error|code)'\s*:|\b[a-z_]+(?:\.[a-z_]+)*\.[A-Z]\w{2,40}Error: |\bError code: [1-5]\d\d\b|Error ID: \w"
    r"|Excon::Error|\b(?:heroku|app)/[\w.-]{1,40}:\s",
    re.M,
)


@dataclass(frozen=True)
class Reply:
    """What the bot says to a message: the diagnosis of a paste, else the answer to a question. It holds
    exactly one of the two (checked when it is made), so a reader that finds no diagnosis has an answer."""

    answer: Answer | None = None
    diagnosis: Diagnosis | None = None

    def __post_init__(self) -> None:
        if (self.answer is None) == (self.diagnosis is None):
            raise ValueError("a Reply holds an answer or a diagnosis, exactly one of them")


# A message this short that reads as a paste but holds no code is asked about rather than diagnosed.
_ONE_ERROR_LINES = 2


# Lines of output: a question typed into Slack is a line or three; deploy output, a CLI session or a log
# excerpt with no timestamp or code in it (flyctl's, a build's) is longer.
_PASTE_LINES = 4


def looks_like_paste(text: str) -> bool:
    """True when the text is log lines or an error body rather than a typed question."""
    head = text[:20_000]
    return (
        bool(_PASTE_SIGNS.search(head))
        or sum(1 for line in head.splitlines() if line.strip()) >= _PASTE_LINES
    )


def is_about_context(text: str, kb: KnowledgeBase) -> bool:
    """True for a message that names nothing itself ("@Dyno Doctor ?", "what's this?"): in a thread it
    is about the message that started the thread."""
    return not looks_like_paste(text) and kb.lookup(unslack(text)).kind == "help"


def has_platform_error(diagnosis: Diagnosis) -> bool:
    """Worth an unprompted reply in an autodiagnose channel: at least one known code or API error."""
    return any(f.entry is not None for f in diagnosis.findings)


def respond(text: str, kb: KnowledgeBase) -> Reply:
    if looks_like_paste(text):
        diagnosis = diagnose(text, kb)
        if diagnosis.findings or diagnosis.failures or len(text.strip().splitlines()) > _ONE_ERROR_LINES:
            return Reply(diagnosis=diagnosis)
        # One error line with no code in it ("Process exited with status 143", "FATAL: sorry, too many
        # clients already") is a question about that line: answer it, unless nothing fits either.
        answer = kb.lookup(" ".join(unslack(text).split()))
        return Reply(answer=answer) if answer.matches else Reply(diagnosis=diagnosis)
    # Slack's markup undone, the case kept: lookup lower-cases for its own matching, but an SDK's class
    # (`RateLimitError`) or `Error ID:` is read as typed, as in `dynodoc ask`.
    return Reply(answer=kb.lookup(" ".join(unslack(text).split())))


def fingerprint(kind: str, text: str) -> str:
    """A question or paste as a hash: feedback is filed under it, so the text itself is never kept. The
    same words with other spacing, case or Slack formatting give the same fingerprint."""
    normal = " ".join(unslack(text).split())
    if kind == "question":
        normal = clean_question(normal).lower()
    return hashlib.sha256(f"{kind}\0{normal}".encode()).hexdigest()[:32]
