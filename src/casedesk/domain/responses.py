"""Saved responses: filling a response's placeholders for one case."""

from __future__ import annotations

import re
from collections.abc import Mapping
from string import Template

PLACEHOLDERS = ("customer_name", "customer_email", "ticket_id", "subject", "agent_name")
_PLACEHOLDER = re.compile(r"\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def unknown_placeholders(body: str) -> list[str]:
    """The ``${name}`` / ``$name`` placeholders of ``body`` that casedesk cannot fill (``$$``
    is a plain dollar sign)."""
    found = []
    for match in _PLACEHOLDER.finditer(body.replace("$$", "")):
        name = match.group(1) if match.group(1) is not None else match.group(2)
        if name not in PLACEHOLDERS:
            found.append(f"${{{name}}}")
    return list(dict.fromkeys(found))


def fill(body: str, values: Mapping[str, str]) -> str:
    """``body`` with its placeholders filled; a value casedesk does not know (a case without
    a customer) becomes empty rather than leaving ``${...}`` in a reply."""
    return Template(body).safe_substitute({name: values.get(name, "") for name in PLACEHOLDERS})
