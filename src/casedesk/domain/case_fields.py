"""Rules for the plain fields of a case: priorities, channels, tags and custom fields."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Protocol

from casedesk.domain.errors import InvalidInput

PRIORITIES = ("low", "normal", "high", "urgent")
CHANNELS = ("console", "email", "chat", "phone", "portal", "api")
_TAG = re.compile(r"^[a-z0-9][a-z0-9_\-:.]{0,59}$")


def priority_rank(name: str) -> int:
    try:
        return PRIORITIES.index(name)
    except ValueError:
        raise InvalidInput(
            f"priority '{name}' is unknown; use one of {', '.join(PRIORITIES)}", field="priority"
        ) from None


def priority_name(rank: int) -> str:
    return PRIORITIES[rank]


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise InvalidInput(
            f"channel '{channel}' is unknown; use one of {', '.join(CHANNELS)}", field="channel"
        )
    return channel


def normalise_tags(tags: Sequence[str]) -> list[str]:
    """Lower-cased, de-duplicated, sorted tags; each 1-60 of a-z 0-9 _ - : ."""
    out = set()
    for raw in tags:
        tag = raw.strip().lower().replace(" ", "-")
        if not _TAG.match(tag):
            raise InvalidInput(
                f"tag '{raw}' is not valid: use 1-60 letters, digits, '-', '_', ':' or '.'",
                field="tags",
            )
        out.add(tag)
    return sorted(out)


def check_category(category: str | None, allowed: Sequence[str]) -> str | None:
    if category is None or not category.strip():
        return None
    category = category.strip()
    if allowed and category not in allowed:
        raise InvalidInput(
            f"category '{category}' is unknown; use one of {', '.join(allowed)}", field="category"
        )
    return category


class FieldDef(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def options(self) -> list[str]: ...
    @property
    def required(self) -> bool: ...


def check_custom_fields(
    definitions: Sequence[FieldDef],
    values: Mapping[str, Any],
    *,
    current: Mapping[str, Any],
    creating: bool = False,
) -> dict[str, Any]:
    """The merged custom fields after applying ``values`` (``None`` removes a field). A required
    field must be given when a case is created and cannot be removed later; cases created
    before the field was required keep working until someone sets it."""
    by_id = {d.id: d for d in definitions}
    merged = dict(current)
    for key, value in values.items():
        definition = by_id.get(key)
        if definition is None:
            known = ", ".join(by_id) or "none are configured"
            raise InvalidInput(
                f"custom field '{key}' is unknown; known fields: {known}",
                field=f"custom_fields.{key}",
            )
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _coerce(definition, value)
    for d in definitions:
        if d.required and d.id not in merged and (creating or d.id in current):
            raise InvalidInput(
                f"custom field '{d.id}' ({d.name}) is required", field=f"custom_fields.{d.id}"
            )
    return merged


def _coerce(d: FieldDef, value: Any) -> Any:
    where = f"custom_fields.{d.id}"
    if d.type == "boolean" and isinstance(value, bool):
        return value
    if d.type == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if (
        d.type == "number"
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    ):
        return value
    if d.type == "text" and isinstance(value, str) and len(value) <= 2000:
        return value
    if d.type == "select" and value in d.options:
        return value
    if d.type == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    expected = {
        "select": f"one of {', '.join(d.options)}",
        "date": "a date as YYYY-MM-DD",
        "text": "text of at most 2000 characters",
        "integer": "an integer",
    }.get(d.type, f"a {d.type}")
    raise InvalidInput(f"custom field '{d.id}' must be {expected}, not {value!r}", field=where)
