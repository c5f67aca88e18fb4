"""The one-click deploy files describe the bot as it is: every setting app.json offers is one the bot
reads, with a description; Heroku gets Postgres and one web dyno; Fly.io keeps the SQLite file on its volume."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath

from bot.__main__ import build_parser

ROOT = Path(__file__).resolve().parent.parent


def settings_the_bot_reads() -> set[str]:
    source = (ROOT / "bot" / "config.py").read_text()
    return set(re.findall(r'"((?:SLACK|DYNODOC|HEROKU|FLY)_[A-Z_]+|DATABASE_URL|PORT)"', source))


def test_app_json_offers_only_real_settings_each_with_a_description():
    app = json.loads((ROOT / "app.json").read_text())
    env = app["env"]
    assert set(env) <= settings_the_bot_reads()
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DYNODOC_APPS", "DYNODOC_DIGEST_CHANNEL"} <= set(env)
    assert all(len(spec["description"]) > 30 for spec in env.values())
    assert {name for name, spec in env.items() if spec.get("required")} == {
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
    }
    # Heroku Postgres sets DATABASE_URL; the dyno's own disk would lose the history daily.
    assert [a["plan"] for a in app["addons"]] == ["heroku-postgresql:essential-0"]
    assert "DATABASE_URL" not in env and "DYNODOC_DB" not in env
    assert app["formation"]["web"]["quantity"] == 1 and app["formation"]["worker"]["quantity"] == 0


def test_fly_toml_keeps_the_sqlite_file_on_the_volume_and_serves_the_port():
    fly = tomllib.loads((ROOT / "fly.toml").read_text())
    db = PurePosixPath(fly["env"]["DYNODOC_DB"])
    assert db.parent == PurePosixPath(fly["mounts"]["destination"])
    assert fly["http_service"]["internal_port"] == int(fly["env"]["PORT"])
    assert fly["http_service"]["auto_stop_machines"] == "off"  # the scheduler must keep running
    assert fly["http_service"]["checks"][0]["path"] == "/healthz"
    assert (ROOT / fly["build"]["dockerfile"]).exists()


def test_the_deploy_commands_are_ones_dynodoc_accepts():
    commands = [
        line.split(": ", 1)[1] for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    ]
    commands.append(
        re.search(r'CMD \["sh", "-c", "(.+)"\]', (ROOT / "Dockerfile").read_text())
        .group(1)
        .replace("${PORT:-8080}", "8080")
    )
    for command in commands:
        args = shlex.split(command.replace("$PORT", "8080"))
        assert args[0] == "dynodoc"
        parsed = build_parser().parse_args(args[1:])
        assert parsed.command == "serve"
