"""The release that started it: which deploy came shortly before an incident opened.

Heroku: the Platform API's release objects (`version`, `created_at`, `user.email`, `status`). An incident
that opens within an hour of a succeeded release says so, with the rollback command to the version before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

log = logging.getLogger(__name__)

SUSPECT_WINDOW = timedelta(hours=1)  # a release this long before an incident is worth naming
CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Release:
    version: int
    at: datetime
    by: str
    description: str = ""

    @classmethod
    def from_heroku(cls, raw: dict) -> Release | None:
        try:
            at = datetime.fromisoformat(str(raw["created_at"]).replace("Z", "+00:00"))
            return cls(
                int(raw["version"]),
                at,
                str((raw.get("user") or {}).get("email") or "someone"),
                str(raw.get("description") or ""),
            )
        except (KeyError, TypeError, ValueError):
            return None


def from_fly_machines(machines: list[dict]) -> list[dict]:
    """Fly releases as seen on the machines: flyctl stamps each machine's config metadata with
    `fly_release_version`; a release's time is when its first machine was updated to it, and `by` is its
    image. Shaped like Heroku's release objects, so `suspect` reads both."""
    seen: dict[int, dict] = {}
    for machine in machines:
        raw_config = machine.get("config")
        config: dict = raw_config if isinstance(raw_config, dict) else {}
        raw_meta = config.get("metadata")
        meta: dict = raw_meta if isinstance(raw_meta, dict) else {}
        version, updated = str(meta.get("fly_release_version") or ""), machine.get("updated_at")
        if not version.isdigit() or not isinstance(updated, str):
            continue
        release = seen.setdefault(
            int(version), {"version": int(version), "created_at": updated, "status": "succeeded"}
        )
        release["created_at"] = min(release["created_at"], updated)
        release["user"] = {"email": "image " + str(config.get("image") or "?").rsplit("/", 1)[-1]}
    return sorted(seen.values(), key=lambda r: -r["version"])


def suspect(releases: list[dict], opened: datetime) -> Release | None:
    """The newest succeeded release within SUSPECT_WINDOW before `opened`."""
    found = [
        r
        for r in map(
            Release.from_heroku, (x for x in releases if x.get("status", "succeeded") == "succeeded")
        )
        if r is not None and opened - SUSPECT_WINDOW <= r.at <= opened
    ]
    return max(found, key=lambda r: r.version, default=None)


def describe(release: Release, app: str, opened: datetime, platform: str = "heroku") -> str:
    minutes = max(0, round((opened - release.at).total_seconds() / 60))
    if platform == "fly":
        return (
            f"Started {minutes} min after release v{release.version} ({release.by}); to undo it: "
            f"`fly releases --image -a {app}`, then `fly deploy --image <the previous image> -a {app}`"
        )
    line = f"Started {minutes} min after v{release.version} (deployed by {release.by})"
    if release.version > 1:
        line += f"; to undo it: `heroku rollback v{release.version - 1} -a {app}`"
    return line


class ReleaseLookup:
    """`lookup(app, opened)` → the sentence for an alert, or None. Asks the Platform API at most once a
    minute per app and never raises: a failed lookup only leaves the sentence out."""

    def __init__(self, fetch: Callable[[str], list[dict]], platform: str = "heroku"):
        self.fetch, self.platform = fetch, platform
        self._cache: dict[str, tuple[float, list[dict]]] = {}
        self._lock = threading.Lock()

    def __call__(self, app: str, opened: datetime) -> str | None:
        with self._lock:
            cached = self._cache.get(app)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            releases = cached[1]
        else:
            try:
                releases = self.fetch(app)
            except Exception as exc:  # noqa: BLE001 - a lookup must never stop an alert
                log.warning("could not read %s's releases for an alert: %s", app, type(exc).__name__)
                return None
            with self._lock:
                self._cache[app] = (time.monotonic(), releases)
        release = suspect(releases, opened)
        return describe(release, app, opened, self.platform) if release else None
