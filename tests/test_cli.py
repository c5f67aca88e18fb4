"""The `dynodoc` command line as a user runs it: a real subprocess, real files, real stdin."""

from __future__ import annotations

import gzip
import json

import pytest
from clirun import dynodoc

ROUTER_H12 = (
    '2024-05-14T09:11:03.402117+00:00 heroku[router]: at=error code=H12 desc="Request timeout" '
    'method=GET path="/reports/77/export" host=acme.herokuapp.com request_id=0d5c fwd="203.0.113.7" '
    "dyno=web.1 connect=1ms service=30000ms status=503 bytes=0 protocol=https"
)


def test_diagnose_a_file_as_json(tmp_path):
    log = tmp_path / "app.log"
    log.write_text(ROUTER_H12 + "\n" + ROUTER_H12.replace("/77/", "/78/") + "\n")
    result = dynodoc("diagnose", "--json", str(log))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [(f["code"], f["count"]) for f in data["findings"]] == [("H12", 2)]
    assert data["findings"][0]["paths"] == {"/reports/{id}/export": 2}
    assert data["primary"]["code"] == "H12" and data["primary"]["why"]
    assert set(data) >= {"findings", "primary", "correlations", "redacted", "summary"}


def test_diagnose_gzip_and_stdin(tmp_path):
    gz = tmp_path / "app.log.gz"
    gz.write_bytes(gzip.compress((ROUTER_H12 + "\n").encode()))
    assert "H12 — Request timeout ×1" in dynodoc("diagnose", str(gz)).stdout
    result = dynodoc("diagnose", "-", stdin=b"heroku[web.1]: Error R14 (Memory quota exceeded)\n")
    assert "R14 — Memory quota exceeded ×1" in result.stdout


@pytest.mark.parametrize("data", [b"\x00\x01\xff\xfe" * 5000, b"\x1f\x8b not really gzip", b"", b"{bad json"])
def test_diagnose_bad_input_gives_a_short_answer_not_a_traceback(tmp_path, data):
    path = tmp_path / "weird.bin"
    path.write_bytes(data)
    result = dynodoc("diagnose", str(path))
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode in (0, 2)
    assert len((result.stdout + result.stderr).splitlines()) <= 6


def test_diagnose_missing_file_is_one_clear_line():
    result = dynodoc("diagnose", "/no/such/file.log")
    assert result.returncode == 2
    assert result.stderr.strip() == "dynodoc: cannot read /no/such/file.log: No such file or directory"


def test_diagnose_never_echoes_a_secret(tmp_path):
    result = dynodoc(
        "diagnose", "-", stdin=(ROUTER_H12 + "\nAuthorization: Bearer sekr1tsekr1tsekr1tsekr1t\n").encode()
    )
    assert "sekr1t" not in result.stdout
    assert "rotate" in result.stdout


def test_chat_answers_questions_and_pastes():
    script = f"what is R15?\n{ROUTER_H12}\n{ROUTER_H12}\n\nhello\n".encode()
    result = dynodoc("chat", stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "R15 — Memory quota vastly exceeded" in out
    assert "H12 — Request timeout ×2" in out  # the two pasted lines were diagnosed together
    assert "what is R15?" in out.split("H12 — Request timeout ×2")[1]  # the help text for "hello"


def test_run_without_slack_tokens_starts_the_console_with_a_hint():
    result = dynodoc("run", stdin=b"r14 vs r15\n")
    assert result.returncode == 0, result.stderr
    assert "SLACK_BOT_TOKEN" in result.stderr
    assert "Side by side" in result.stdout


def test_bad_setting_is_one_line_naming_it():
    result = dynodoc("run", env={"DYNODOC_POLL_MINUTES": "often"}, stdin=b"")
    assert result.returncode == 2
    assert result.stderr.strip() == "dynodoc: DYNODOC_POLL_MINUTES must be a whole number, got 'often'"


def test_diagnose_a_gzip_bomb_reads_only_the_first_megabytes(tmp_path):
    bomb = tmp_path / "bomb.log.gz"
    bomb.write_bytes(gzip.compress(b"x" * 200_000_000))  # 200 MB of text in about 200 kB
    result = dynodoc("diagnose", str(bomb))
    assert result.returncode == 0, result.stderr
    assert "only the start was read" in result.stdout


def test_diagnose_a_truncated_gzip_reads_what_is_there(tmp_path):
    whole = gzip.compress(("\n".join([ROUTER_H12] * 200) + "\n").encode())
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    result = dynodoc("diagnose", "--json", str(cut))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["findings"][0]["code"] == "H12"


def test_chat_reads_a_pretty_printed_error_body_as_one_paste():
    body = b'{\n  "error": {\n    "code": 429,\n    "message": "slow down",\n    "type": "rate_limit_error"\n  }\n}\n\n'
    result = dynodoc("chat", stdin=body)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("rate_limit_error — Rate limit exceeded ×1") == 1
    assert "I explain Heroku" not in result.stdout  # no line of it was taken for a question


def test_every_bad_setting_is_named_at_once_one_line_each():
    import pytest

    from bot.config import ConfigError, load_settings

    env = {
        "DYNODOC_DIGEST_CHANNEL": "#general",
        "HEROKU_API_KEY": "abc\ndef",
        "FLY_API_TOKEN": "fm2_caf\u00e9",
        "DYNODOC_POLL_MINUTES": "often",
        "DYNODOC_AUTODIAGNOSE_CHANNELS": "C0INCIDENT,#incidents",
        "DYNODOC_LOG_LEVEL": "chatty",
    }
    with pytest.raises(ConfigError) as err:
        load_settings(env, dotenv=None)
    lines = str(err.value).splitlines()
    assert lines[0] == "6 settings need fixing:"
    text = str(err.value)
    for name in (
        "DYNODOC_DIGEST_CHANNEL",
        "HEROKU_API_KEY",
        "FLY_API_TOKEN",
        "DYNODOC_POLL_MINUTES",
        "DYNODOC_AUTODIAGNOSE_CHANNELS",
        "DYNODOC_LOG_LEVEL",
    ):
        assert sum(name in line for line in lines) == 1, name
    assert "abc" not in text and "caf" not in text  # secrets are never echoed
    assert "#incidents" in text and "not a channel ID" in text
    assert "DYNODOC_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, got 'CHATTY'" in text
    assert load_settings({"DYNODOC_LOG_LEVEL": "debug"}, dotenv=None).log_level == "DEBUG"


def test_a_port_out_of_range_is_one_line(capsys):
    import pytest

    from bot.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--http", "--port", "70000"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "is not a port (1-65535)" in err and "Traceback" not in err


def test_ask_json_never_echoes_a_key_in_the_question():
    import json

    from bot.knowledge import KnowledgeBase
    from bot.render.text import answer_json

    data = answer_json(KnowledgeBase.load().lookup("my key sk-proj-AbCdEfGhIjKlMnOpQrStUvWx gets 401"))
    assert "AbCdEfGhIjKlMnOp" not in json.dumps(data)
