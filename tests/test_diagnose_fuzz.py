"""Any input gives a diagnosis, never a traceback, in time linear in its size.

Hypothesis builds random and adversarial pastes from the fragments our patterns key on (brackets,
quotes, `key=`, `Error H`, `Bearer `, `://user:`, braces ...). A regex that backtracks badly would
blow far past the generous deadline on these; a linear one finishes in milliseconds.
"""

from __future__ import annotations

import time
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.diagnose import diagnose
from bot.render.text import diagnosis_json, render_diagnosis

FRAGMENTS = [
    "heroku[",
    "router]: ",
    "app[web.1]: ",
    "proxy[",
    "] iad [error]",
    "[PC01]",
    "[P",
    "at=error ",
    "code=H12 ",
    'desc="',
    '\\"',
    '"',
    "=",
    " ",
    "\n",
    "Error H12 (",
    ") -> GET ",
    "Error R14",
    "Process running mem=",
    "(103.3%)",
    "Bearer ",
    "Authorization: ",
    "postgres://",
    "u:",
    "@",
    "xoxb-",
    "inf-",
    "{",
    "}",
    '{"error": ',
    '"type": "rate_limit_error"',
    '"code": 429',
    "HTTP/1.1 429",
    "retry-after: 1",
    "```",
    "&lt;",
    "<@U1>",
    "<https://a|b>",
    "2024-05-14T09:11:03.402117+00:00 ",
    "State changed from up to crashed",
    "Traceback",
    "a" * 50,
    "0" * 30,
    "\x00",
    "\ufffd",
    "é",
    "\t",
    "\r",
]

adversarial = st.lists(st.sampled_from(FRAGMENTS), max_size=400).map("".join)
random_text = st.text(max_size=3000)


def _check(text: str) -> None:
    d = diagnose(text)
    render_diagnosis(d)
    diagnosis_json(d)
    assert d.summary


@settings(max_examples=150, deadline=timedelta(seconds=3), suppress_health_check=[HealthCheck.too_slow])
@given(adversarial)
def test_adversarial_pastes(text):
    _check(text)


@settings(max_examples=150, deadline=timedelta(seconds=3))
@given(random_text)
def test_random_text(text):
    _check(text)


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(FRAGMENTS))
def test_one_fragment_repeated_a_lot_stays_linear(fragment):
    # Time a 20 kB and an 80 kB repetition: linear code takes about 4x longer, a quadratic one about 16x.
    small = fragment * (20_000 // len(fragment) + 1)
    big = small * 4
    t0 = time.perf_counter()
    _check(small)
    t1 = time.perf_counter()
    _check(big)
    t2 = time.perf_counter()
    assert (t2 - t1) < max(0.5, 12 * (t1 - t0)), (fragment, t1 - t0, t2 - t1)


def test_huge_single_line_and_binary():
    _check("x" * 1_000_000)
    _check(bytes(range(256)).decode("latin-1") * 4000)
    d = diagnose("a" * 2_500_000)
    assert d.truncated and any("only the start was read" in n for n in d.notes)
