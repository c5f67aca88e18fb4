"""Shared fixtures. Every test runs with no proxy and no Slack/platform settings from the outer environment."""

from __future__ import annotations

import os

import pytest

from bot.knowledge import KnowledgeBase

_CLEARED_PREFIXES = ("SLACK_", "DYNODOC_", "HEROKU_", "FLY_")
_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES) or name in _PROXIES:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # A stray .env in the developer's checkout must not leak into tests.
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()
