"""Checks of single config values shared by the config sections: a table with known keys, a
port, a flag, a duration in seconds, the name of an environment variable. Each appends a
located ``Problem`` instead of raising, so one pass reports every mistake."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from casedesk.domain.durations import parse_duration
from casedesk.domain.lifecycle import Problem

Path = tuple[str | int, ...]
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def table_of(
    raw: Any, path: Path, keys: tuple[str, ...], problems: list[Problem]
) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        problems.append(Problem(path, f"give a table with {', '.join(keys)}"))
        return {}
    for key in raw:
        if key not in keys:
            hint = ", ".join(keys)
            if key in ("password", "secret"):
                hint = f"secrets stay out of the file: name an environment variable with {key}_env"
            problems.append(Problem((*path, key), f"unknown key {key!r}; {hint}"))
    return {k: v for k, v in raw.items() if k in keys}


def check_port(value: Any, path: Path, problems: list[Problem]) -> bool:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        problems.append(Problem(path, "give a TCP port from 1 to 65535"))
        return False
    return True


def flag_of(values: dict[str, Any], key: str, path: Path, problems: list[Problem]) -> bool | None:
    value = values.get(key)
    if value is not None and not isinstance(value, bool):
        problems.append(Problem((*path, key), "give true or false"))
        return None
    return value


def seconds_of(
    value: Any, path: Path, low: timedelta, high: timedelta, problems: list[Problem]
) -> float | None:
    try:
        parsed = parse_duration(value) if isinstance(value, str) else None
    except ValueError as exc:
        problems.append(Problem(path, str(exc)))
        return None
    if parsed is None or not low <= parsed <= high:
        problems.append(Problem(path, f'give a duration from {low} to {high}, such as "60s"'))
        return None
    return parsed.total_seconds()


def env_name_of(
    values: dict[str, Any], key: str, path: Path, problems: list[Problem]
) -> str | None:
    value = values.get(key)
    if not isinstance(value, str) or not _ENV.match(value):
        problems.append(Problem((*path, key), "name an environment variable, e.g. CASEDESK_X"))
        return None
    return value
