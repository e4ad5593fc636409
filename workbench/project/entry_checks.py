"""What `check` says about one entry point's own fields: its name, schedule and timezone, and a
service's method, path and auth. `workbench check` (diagnostics.py, service.py) and the app's
entry-point forms call these same functions, so a form says ✓ only where `check` says nothing.

    entry_problems("nightly", {"schedule": "0 25 * * *"})
    # -> [("bad-cron", "schedule '0 25 * * *' is not a valid 5-field cron expression ...", ("schedule",), "error")]

Headless: never imports textual.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

CRON_FIELDS = "minute hour day-of-month month day-of-week"
NOUNS = {"entrypoints": "entry point", "connections": "connection", "configurables": "configurable",
         "datamappers": "data mapper", "types": "type"}


# Each field's bounds, for the plain forms croniter surely accepts: `*`, `*/N`, `A`, `A-B`, `A-B/N`.
_CRON_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_CRON_ITEM = re.compile(r"(?:\*|(\d{1,2})(?:-(\d{1,2}))?)(?:/(\d{1,2}))?")


def _plain_cron(fields: list[str]) -> bool:
    """True when every field is a list of plain items within its bounds; False when unsure."""
    for field, (low, high) in zip(fields, _CRON_BOUNDS, strict=True):
        for item in field.split(","):
            match = _CRON_ITEM.fullmatch(item)
            if match is None:
                return False
            start, end, step = (int(g) if g is not None else None for g in match.groups())
            if start is not None and not low <= start <= (end if end is not None else start) <= high:
                return False
            if step is not None and not 1 <= step <= high:
                return False
    return True


def schedule_problem(schedule: str | None) -> str:
    """"" for no schedule (run on demand) and for a valid 5-field cron expression."""
    if schedule is None:
        return ""
    fields = schedule.split()
    if len(fields) == 5:
        if _plain_cron(fields):
            return ""
        # ~7 ms to import: only for names (MON), `?`, `L`, `#` and the like.
        from croniter import croniter

        if croniter.is_valid(schedule):
            return ""
    return f"schedule {schedule!r} is not a valid 5-field cron expression ({CRON_FIELDS})"


@lru_cache(maxsize=256)  # as you type: each prefix once
def timezone_problem(timezone: str) -> str:
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(timezone)
    except Exception:  # noqa: BLE001 - ZoneInfo raises several kinds
        return f"unknown timezone {timezone!r}"
    return ""


def name_problem(section: str, name: str, existing: Iterable[str], original: str | None = None) -> str:
    """What the store refuses when a new (or renamed) item takes `name` (store._require_new)."""
    from workbench.project.model import NAME_RE

    if not name:
        return "a name is required"
    if not NAME_RE.match(name):
        return f"{name!r} is not a valid name: use letters, digits and _, not starting with a digit"
    if name != original and name in existing:
        return f"{NOUNS.get(section, section)} {name!r} already exists"
    return ""


def entry_problems(name: str, fields: Mapping[str, Any], *, others: Mapping[str, Mapping[str, Any]] | None = None,
                   original: str | None = None) -> list[tuple[str, str, tuple, str]]:
    """(code, message, field path, severity) of one entry point as written or being typed (a
    table as in TOML); `others` are the project's other entry points (for the name and the
    route), as tables. Paths are relative to the entry point's table: ("schedule",)."""
    from pydantic import ValidationError

    from workbench.project.model import EntryPoint
    from workbench.project.service import entry_service_problems, route_shape

    names = list(others or {})
    # check reports a shared route on the later service only: this one is compared with those
    # before it in the file (all of them, for a new one, which goes last).
    before = set(names[:names.index(original)] if original in names else names)
    others = {k: v for k, v in (others or {}).items() if k != original}  # the entry as opened is this one
    out: list[tuple[str, str, tuple, str]] = []
    if problem := name_problem("entrypoints", name, others, original):
        out.append(("bad-name", problem, ("name",), "error"))
    try:
        entry = EntryPoint.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            out.append(("bad-value", f"{'.'.join(map(str, err['loc']))}: {err['msg']}", tuple(err["loc"][:1]), "error"))
        return out
    out += [(code, message, path, "error") for code, message, path in automation_problems(entry)]
    routes = {route_shape(str(o.get("method") or "POST"), str(o["path"])): other
              for other, o in others.items()
              if other in before and o.get("kind") == "service" and isinstance(o.get("path"), str)}
    base = ("entrypoints", name)
    for code, message, path, severity in entry_service_problems(name, entry, routes):
        out.append((code, message, tuple(path[len(base):]), severity))
    return out


def automation_problems(entry: Any) -> list[tuple[str, str, tuple]]:
    """The schedule and timezone of an entry point (a model): check's `bad-cron`, `bad-timezone`."""
    out = []
    if problem := schedule_problem(entry.schedule):
        out.append(("bad-cron", problem, ("schedule",)))
    if problem := timezone_problem(entry.timezone):
        out.append(("bad-timezone", problem, ("timezone",)))
    return out
