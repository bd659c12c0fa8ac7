"""Formatting and parsing of ticket IDs such as ``CASE-000123``.

The number behind a ticket ID is the case's database key, so the database, not this module,
guarantees uniqueness; this module only turns numbers into the reference people use and back.
"""

from __future__ import annotations

import re

_PREFIX_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,15}$")


def valid_prefix(prefix: str) -> bool:
    return bool(_PREFIX_RE.match(prefix))


def format_ticket_id(number: int, *, prefix: str = "CASE", digits: int = 6) -> str:
    """``format_ticket_id(123) == "CASE-000123"``; wider numbers keep every digit."""
    if number < 1:
        raise ValueError("ticket numbers start at 1")
    return f"{prefix.upper()}-{number:0{digits}d}"


def parse_ticket_id(text: str, *, prefix: str = "CASE") -> int | None:
    """The number in a ticket ID in any letter case and padding; ``None`` if it is not one."""
    match = re.fullmatch(rf"\s*{re.escape(prefix)}-0*([1-9][0-9]{{0,18}})\s*", text, re.IGNORECASE)
    return _in_range(int(match.group(1))) if match else None


def find_ticket_ids(text: str, *, prefix: str = "CASE") -> list[int]:
    """Ticket numbers tagged as ``[CASE-000123]`` in a subject line, in order of appearance."""
    pattern = rf"\[\s*{re.escape(prefix)}-0*([1-9][0-9]{{0,18}})\s*\]"
    found = (_in_range(int(m)) for m in re.findall(pattern, text, re.IGNORECASE))
    return [n for n in found if n is not None]


MAX_NUMBER = 2**63 - 1  # case numbers are 64-bit database keys


def _in_range(number: int) -> int | None:
    return number if number <= MAX_NUMBER else None
