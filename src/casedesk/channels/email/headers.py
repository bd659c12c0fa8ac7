"""Header fields of an e-mail: raw values by name, addresses, Message-IDs and dates, decoded
leniently the way real mail needs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from casedesk.channels.email import noise
from casedesk.channels.email.decode import decode_words, recover_header, unstructured

_ADDR_SPEC = re.compile(r"[^@\s<>()\[\],;:\"\x00-\x1f\x7f]+@[^@\s<>()\[\],;:\"\x00-\x1f\x7f]+")


_BRACKETED = re.compile(r"<([^<>]*)>")


def header_fields(part: Message) -> dict[str, list[str]]:
    """Header fields by lower-cased name, unfolded, 8-bit bytes decoded; RFC 2047 left as is."""
    out: dict[str, list[str]] = {}
    try:
        items = list(part.raw_items())
    except Exception:
        return out
    for name, value in items:
        unfolded = re.sub(r"\r?\n(?=[ \t])", "", str(value)).replace("\r", " ").replace("\n", " ")
        out.setdefault(str(name).strip().lower(), []).append(recover_header(unfolded))
    return out


def first_value(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def addresses(values: list[str]) -> list[tuple[str, str]]:
    """``(display name, lower-cased addr-spec)`` pairs, invalid and repeated ones left out."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for value in values:
        pairs = _getaddresses(value)
        if not any(_addr(a) for _, a in pairs) and "=?" in value:
            pairs = _getaddresses(decode_words(value))  # "Name <addr>" encoded as one word
        for name, addr in pairs:
            clean = _addr(addr)
            if clean and clean not in seen:
                seen.add(clean)
                out.append((unstructured(name).strip("\"' "), clean))
    return out


def _getaddresses(value: str) -> list[tuple[str, str]]:
    try:
        return getaddresses([value])
    except Exception:
        return []


def _addr(addr: str) -> str | None:
    clean = addr.strip().strip("<>").strip().lower()
    if clean in ("mailer-daemon", "postmaster"):  # bounces from the local MTA carry no domain
        return clean
    return clean if len(clean) <= 320 and _ADDR_SPEC.fullmatch(clean) else None


def message_ids(values: list[str]) -> list[str]:
    out: dict[str, None] = {}  # ordered and de-duplicated
    for value in values:
        found = _BRACKETED.findall(value)
        for candidate in [f"<{f}>" for f in found] if found else [value]:
            ident = noise.normalise_id(candidate)
            if ident:
                out[ident] = None
    return list(out)


def parse_date(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
