"""Recognising automatic mail: bounces, receipts, auto-replies, bulk mail and our own loops.

``classify`` returns the reason as ``"<kind>: <detail>"`` where kind is one of ``dsn``,
``mdn``, ``bounce``, ``own-address``, ``auto-submitted``, ``x-auto-response-suppress``,
``x-autoreply`` or ``precedence`` (e.g. ``"precedence: bulk"``), so callers can count by kind.
``List-Id`` and ``List-Unsubscribe`` alone are not noise: customers write from mailing lists
and through ticket forms that add them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["bounced_message_id", "classify", "normalise_id"]

_DAEMONS = {"mailer-daemon", "mailer_daemon", "mailerdaemon", "postmaster"}
_BULK = {"bulk", "junk", "list", "auto_reply"}
_SUPPRESS = {"oof", "autoreply", "all"}
_AUTOREPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder")
_ID_LINE = re.compile(r"(?im)^[ \t]*message-id[ \t]*:[ \t]*(?:\r?\n[ \t]+)?(<[^>\r\n]*>|\S+)")
_BRACKETED = re.compile(r"<([^<>]*)>")


def normalise_id(value: str) -> str | None:
    """A Message-ID without angle brackets or folding whitespace; None when not an id."""
    match = _BRACKETED.search(value)
    if match:
        ident = "".join(match.group(1).split())
    else:
        ident = value.strip()
        if len(ident.split()) != 1:
            return None
    if not ident or len(ident) > 995 or any(c in "<>" or c < " " or c == "\x7f" for c in ident):
        return None
    return ident


def classify(
    *,
    headers: Mapping[str, Sequence[str]],
    from_address: str,
    content_type: str,
    report_type: str | None,
    own_addresses: Iterable[str],
) -> tuple[str | None, bool]:
    """``(auto_reason, is_bounce)`` for a message with these (lower-cased) header names."""
    local = from_address.rpartition("@")[0] or from_address
    null_sender = any(v.strip() in ("", "<>") for v in headers.get("return-path", ()))
    report = report_type if content_type == "multipart/report" else None
    auto_submitted = _token(headers, "auto-submitted")
    auto_replied = auto_submitted not in (None, "", "no")

    is_bounce = (
        report == "delivery-status"
        or local in _DAEMONS
        or "x-failed-recipients" in headers
        or (null_sender and report != "disposition-notification" and not auto_replied)
    )
    reasons = (
        report == "delivery-status" and "dsn: delivery-status",
        report == "disposition-notification" and "mdn: disposition-notification",
        local in _DAEMONS and f"bounce: {local}",
        "x-failed-recipients" in headers and "bounce: x-failed-recipients",
        from_address in _normalised(own_addresses) and f"own-address: {from_address}",
        auto_replied and f"auto-submitted: {auto_submitted}",
        _suppress_reason(headers),
        _autoreply_reason(headers),
        _token(headers, "precedence") in _BULK and f"precedence: {_token(headers, 'precedence')}",
        null_sender and "bounce: null sender",
    )
    reason = next((r for r in reasons if r), None)
    return (reason[:200] if reason else None), is_bounce


def bounced_message_id(embedded_ids: Sequence[str], text: str) -> str | None:
    """The id of the message a bounce is about: from its attached original, else its text."""
    if embedded_ids:
        return embedded_ids[0]
    # Bounces without a MIME report (qmail, some gateways) quote the original headers inline.
    for match in _ID_LINE.finditer(text[:200_000]):
        ident = normalise_id(match.group(1))
        if ident:
            return ident
    return None


def _token(headers: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = headers.get(name)
    if not values:
        return None
    return values[0].split(";", 1)[0].strip().lower()


def _suppress_reason(headers: Mapping[str, Sequence[str]]) -> str | None:
    for value in headers.get("x-auto-response-suppress", ()):
        tokens = {t.lower() for t in re.split(r"[\s,;]+", value) if t}
        hit = sorted(tokens & _SUPPRESS)
        if hit:
            return f"x-auto-response-suppress: {', '.join(hit)}"
    return None


def _autoreply_reason(headers: Mapping[str, Sequence[str]]) -> str | None:
    for name in _AUTOREPLY_HEADERS:
        for value in headers.get(name, ()):
            if value.strip().lower() not in ("no", "false", "0"):
                return f"{name}: {value.strip().lower() or 'yes'}"[:100]
    return None


def _normalised(addresses: Iterable[str]) -> set[str]:
    return {a.strip().strip("<>").strip().lower() for a in addresses if a and a.strip()}
