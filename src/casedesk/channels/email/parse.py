"""Raw inbound e-mail bytes to ``ParsedEmail``, the plain value the intake service works with.

Pure: no database, network or clock. Any input either parses, degraded where it is broken
(undecodable charsets fall back to UTF-8, Windows-1252 and Latin-1; bad base64 decodes as far as
it goes; headers the modern parser rejects are decoded by hand), or raises ``Unparseable`` when
there is nothing to work with: no usable From address, no header at all, or too many bytes.
HTML sanitising and text extraction live in ``html``, quote stripping in ``quotes`` and the
recognition of automatic mail in ``noise``.
"""

from __future__ import annotations

import email.policy
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.feedparser import BytesFeedParser
from email.message import Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from typing import Any

from casedesk.channels.email import noise, quotes
from casedesk.channels.email.decode import (
    decode_text,
    decode_words,
    unstructured,
)
from casedesk.channels.email.headers import (
    addresses,
    first_value,
    header_fields,
    message_ids,
    parse_date,
)
from casedesk.channels.email.html import html_to_text, sanitize_html
from casedesk.channels.email.parts import (
    child_parts,
    content_type,
    disposition_of,
    filename_of,
    param,
    part_payload,
    part_text,
    safe_filename,
)

__all__ = [
    "Attachment",
    "ParsedEmail",
    "Unparseable",
    "decode_text",
    "decode_words",
    "html_to_text",
    "parse_email",
    "sanitize_html",
]

_MAX_DEPTH = 30
_PARSE_BUDGET = 15_000_000  # lines x nesting depth, about two seconds of the stdlib parser
_MAX_PARTS = 1000
_MAX_REFERENCES = 100
_REPORT_PARTS = {
    "message/delivery-status",
    "message/disposition-notification",
    "message/global-delivery-status",
    "message/global-disposition-notification",
}
_HEADER_PARTS = {"text/rfc822-headers", "message/global-headers"}
_EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "text/csv": ".csv",
}


class Unparseable(Exception):
    """The bytes cannot be used as an e-mail message at all; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """One attached (or inline) part; ``content`` is None when it was over the size limit."""

    filename: str
    content_type: str
    size: int
    content: bytes | None
    content_id: str | None = None
    inline: bool = False
    oversized: bool = False


@dataclass(frozen=True, kw_only=True)
class ParsedEmail:
    """What an inbound message says, decoded; ids are without angle brackets."""

    message_id: str
    in_reply_to: list[str]
    references: list[str]
    from_address: str
    from_name: str
    to: list[str]
    cc: list[str]
    reply_to: str | None
    subject: str
    date: datetime | None
    text: str
    html: str | None
    reply_text: str
    attachments: list[Attachment]
    auto_reason: str | None
    is_bounce: bool
    bounced_message_id: str | None

    @property
    def is_auto(self) -> bool:
        return self.auto_reason is not None


def parse_email(
    raw: bytes,
    *,
    own_addresses: Sequence[str] = (),
    max_bytes: int = 25 * 1024 * 1024,
    max_attachment_bytes: int = 10 * 1024 * 1024,
) -> ParsedEmail:
    """Parse one raw RFC 5322 message; raises ``Unparseable`` and nothing else for any bytes."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError(f"raw must be bytes, not {type(raw).__name__}")
    data = bytes(raw)
    if len(data) > max_bytes:
        raise Unparseable(f"message is {len(data)} bytes, over the limit of {max_bytes}")
    own = (own_addresses,) if isinstance(own_addresses, str) else tuple(own_addresses)
    try:
        return _parse(data, own, max_attachment_bytes)
    except Unparseable:
        raise
    except Exception as exc:  # the last line of defence: one bad message must not stop intake
        raise Unparseable(f"unexpected parser failure: {type(exc).__name__}") from exc


def _parse(data: bytes, own: Sequence[str], max_attachment_bytes: int) -> ParsedEmail:
    msg = _message(data)
    headers = header_fields(msg)
    if not headers:
        raise Unparseable("no header fields: not an e-mail message")
    senders = addresses(headers.get("from", []))
    if not senders:
        raise Unparseable("no usable From address")
    from_name, from_address = senders[0]

    walk = _Walk(max_attachment_bytes)
    text, raw_html, from_html = _bodies(walk.part(msg, 0))
    if raw_html is not None and from_html:
        reply_text = quotes.reply_from_html(raw_html, text)
    else:
        reply_text = quotes.strip_quoted(text)
    ctype = content_type(msg)
    auto_reason, is_bounce = noise.classify(
        headers=headers,
        from_address=from_address,
        content_type=ctype,
        report_type=param(msg, "report-type") or None,
        own_addresses=own,
    )
    message_id = noise.normalise_id(first_value(headers, "message-id"))
    references = message_ids(headers.get("references", []))
    if len(references) > _MAX_REFERENCES:  # keep the thread's root and the recent ancestors
        references = references[:1] + references[1 - _MAX_REFERENCES :]
    return ParsedEmail(
        message_id=message_id or f"sha256-{hashlib.sha256(data).hexdigest()}@casedesk.invalid",
        in_reply_to=message_ids(headers.get("in-reply-to", [])),
        references=references,
        from_address=from_address,
        from_name=from_name,
        to=[a for _, a in addresses(headers.get("to", []))],
        cc=[a for _, a in addresses(headers.get("cc", []))],
        reply_to=next((a for _, a in addresses(headers.get("reply-to", []))), None),
        subject=unstructured(first_value(headers, "subject")) or "(no subject)",
        date=parse_date(first_value(headers, "date")),
        text=text,
        html=sanitize_html(raw_html).strip() if raw_html is not None else None,
        reply_text=reply_text,
        attachments=walk.attachments,
        auto_reason=auto_reason,
        is_bounce=is_bounce,
        bounced_message_id=noise.bounced_message_id(walk.embedded_ids, text) if is_bounce else None,
    )


class _RawHeaderReads(EmailPolicy):
    """The modern policy, except that reading a header field gives its raw text. The modern
    policy re-parses a field into a header object on every read (the parser alone reads each
    part's Content-Type a dozen times), and casedesk decodes field values itself, leniently."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        return email.policy.compat32.header_fetch_parse(name, value)


MODERN_RAW_HEADERS = _RawHeaderReads()


def _message(data: bytes) -> Message:
    body = data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if not body.strip():
        raise Unparseable("empty message")
    # The modern policy is stricter; compat32 and then the headers alone (for nesting too deep
    # to walk) still get a usable message out of broken input.
    for policy in (MODERN_RAW_HEADERS, email.policy.compat32):
        try:
            msg = _feed(body, policy)
        except RecursionError:
            break
        except Exception:
            continue
        if msg is None:
            break
        return msg
    try:
        return BytesParser(policy=email.policy.compat32).parsebytes(body, headersonly=True)
    except Exception as exc:
        raise Unparseable("cannot parse the message structure") from exc


def _feed(body: bytes, policy: email.policy.Policy) -> Message | None:
    """The whole MIME tree, or None when parsing it would cost more than ``_PARSE_BUDGET``."""
    parser = BytesFeedParser(policy=policy)
    work = 0
    for start in range(0, len(body), 65536):
        chunk = body[start : start + 65536]
        parser.feed(chunk)
        # The stdlib parser hands every line through each enclosing part: lines x depth.
        work += (chunk.count(b"\n") + 1) * max(1, len(getattr(parser, "_msgstack", ())))
        if work > _PARSE_BUDGET:
            return None
    return parser.close()


# --- MIME parts ------------------------------------------------------------------------------


@dataclass
class _Segment:
    plain: str | None = None
    html: str | None = None


@dataclass
class _Walk:
    """One pass over the MIME tree: body segments in order, attachments, embedded originals."""

    max_attachment_bytes: int
    attachments: list[Attachment] = field(default_factory=list)
    embedded_ids: list[str] = field(default_factory=list)
    parts: int = 0
    has_body: bool = False

    def part(self, part: Message, depth: int) -> list[_Segment]:
        self.parts += 1
        if depth > _MAX_DEPTH or self.parts > _MAX_PARTS:
            return []
        ctype = content_type(part)
        if ctype in _REPORT_PARTS:
            return []
        if ctype.startswith("message/"):
            self._message(part, ctype)
            return []
        children = child_parts(part)
        if children is not None and ctype.startswith("multipart/"):
            if ctype == "multipart/alternative":
                return self._alternative(children, depth)
            return [s for child in children for s in self.part(child, depth + 1)]
        if ctype.startswith("multipart/"):  # no boundary: the payload is all there is
            ctype = "text/plain"
        if ctype in _HEADER_PARTS:
            ident = noise.bounced_message_id([], part_text(part, ctype))
            self.embedded_ids += [ident] if ident else []
            return []
        if ctype in ("text/plain", "text/html") and self._is_body(part):
            self.has_body = True
            body = part_text(part, ctype)
            return [_Segment(html=body) if ctype == "text/html" else _Segment(plain=body)]
        self._attach(part, ctype, part_payload(part))
        return []

    def _alternative(self, children: list[Message], depth: int) -> list[_Segment]:
        options = [self.part(child, depth + 1) for child in children]
        plain = next((o for o in options if any(s.plain and s.plain.strip() for s in o)), None)
        rich = next((o for o in reversed(options) if any(s.html is not None for s in o)), None)
        if plain is None and rich is None:
            return next((o for o in options if o), [])
        return [
            _Segment(
                plain="\n".join(s.plain for s in plain if s.plain is not None) if plain else None,
                html="".join(s.html for s in rich if s.html is not None) if rich else None,
            )
        ]

    def _is_body(self, part: Message) -> bool:
        if disposition_of(part) == "attachment":
            return False
        return not (self.has_body and filename_of(part))

    def _message(self, part: Message, ctype: str) -> None:
        children = child_parts(part) or []
        if not children:
            self._attach(part, ctype, part_payload(part))
            return
        inner = children[0]
        inner_headers = header_fields(inner)
        ident = noise.normalise_id(first_value(inner_headers, "message-id"))
        self.embedded_ids += [ident] if ident else []
        data = b""
        for policy in (email.policy.compat32, email.policy.default):
            try:
                data = inner.as_bytes(policy=policy)
                break
            except Exception:
                continue
        subject = safe_filename(unstructured(first_value(inner_headers, "subject")))
        self._attach(part, ctype, data, default_name=f"{subject or 'message'}.eml")

    def _attach(self, part: Message, ctype: str, data: bytes, default_name: str = "") -> None:
        cid = noise.normalise_id(first_value(header_fields(part), "content-id"))
        disposition = disposition_of(part)
        name = safe_filename(filename_of(part)) or default_name
        oversized = len(data) > self.max_attachment_bytes
        self.attachments.append(
            Attachment(
                filename=name or "attachment" + _EXTENSIONS.get(ctype, ".bin"),
                content_type=ctype,
                size=len(data),
                content=None if oversized else data,
                content_id=cid,
                inline=disposition == "inline" or (disposition is None and cid is not None),
                oversized=oversized,
            )
        )


def _bodies(segments: list[_Segment]) -> tuple[str, str | None, bool]:
    """``(text, raw html or None, whether the text had to come from the html)``."""
    pieces: list[str] = []
    htmls: list[str] = []
    from_html = True
    for seg in segments:
        if seg.plain is not None and (seg.plain.strip() or seg.html is None):
            pieces.append(seg.plain)
            from_html = False
        elif seg.html is not None:
            pieces.append(html_to_text(seg.html))
        if seg.html is not None:
            htmls.append(seg.html)
    text = "\n".join(p.strip("\n") for p in pieces if p.strip()).strip()
    return text, ("\n".join(htmls) if htmls else None), from_html
