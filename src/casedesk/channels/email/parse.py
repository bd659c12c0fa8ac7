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
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.feedparser import BytesFeedParser
from email.message import Message
from email.parser import BytesParser
from email.utils import collapse_rfc2231_value, getaddresses, parsedate_to_datetime

from casedesk.channels.email import noise, quotes
from casedesk.channels.email.decode import (
    CONTROL_CHARS,
    decode_text,
    decode_words,
    lenient_b64decode,
    recover_header,
    unflow,
    unstructured,
)
from casedesk.channels.email.html import html_to_text, sanitize_html, scrub

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
_ADDR_SPEC = re.compile(r"[^@\s<>()\[\],;:\"\x00-\x1f\x7f]+@[^@\s<>()\[\],;:\"\x00-\x1f\x7f]+")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([\w.:-]{1,40})""", re.I)
_BRACKETED = re.compile(r"<([^<>]*)>")


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
    headers = _headers(msg)
    if not headers:
        raise Unparseable("no header fields: not an e-mail message")
    senders = _addresses(headers.get("from", []))
    if not senders:
        raise Unparseable("no usable From address")
    from_name, from_address = senders[0]

    walk = _Walk(max_attachment_bytes)
    text, raw_html, from_html = _bodies(walk.part(msg, 0))
    if raw_html is not None and from_html:
        reply_text = quotes.reply_from_html(raw_html, text)
    else:
        reply_text = quotes.strip_quoted(text)
    ctype = _content_type(msg)
    auto_reason, is_bounce = noise.classify(
        headers=headers,
        from_address=from_address,
        content_type=ctype,
        report_type=_param(msg, "report-type") or None,
        own_addresses=own,
    )
    message_id = noise.normalise_id(_first(headers, "message-id"))
    references = _ids(headers.get("references", []))
    if len(references) > _MAX_REFERENCES:  # keep the thread's root and the recent ancestors
        references = references[:1] + references[1 - _MAX_REFERENCES :]
    return ParsedEmail(
        message_id=message_id or f"sha256-{hashlib.sha256(data).hexdigest()}@casedesk.invalid",
        in_reply_to=_ids(headers.get("in-reply-to", [])),
        references=references,
        from_address=from_address,
        from_name=from_name,
        to=[a for _, a in _addresses(headers.get("to", []))],
        cc=[a for _, a in _addresses(headers.get("cc", []))],
        reply_to=next((a for _, a in _addresses(headers.get("reply-to", []))), None),
        subject=unstructured(_first(headers, "subject")) or "(no subject)",
        date=_date(_first(headers, "date")),
        text=text,
        html=sanitize_html(raw_html).strip() if raw_html is not None else None,
        reply_text=reply_text,
        attachments=walk.attachments,
        auto_reason=auto_reason,
        is_bounce=is_bounce,
        bounced_message_id=noise.bounced_message_id(walk.embedded_ids, text) if is_bounce else None,
    )


def _message(data: bytes) -> Message:
    body = data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if not body.strip():
        raise Unparseable("empty message")
    # The modern policy is stricter; compat32 and then the headers alone (for nesting too deep
    # to walk) still get a usable message out of broken input.
    for policy in (email.policy.default, email.policy.compat32):
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


# --- header fields ---------------------------------------------------------------------------


def _headers(part: Message) -> dict[str, list[str]]:
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


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def _addresses(values: list[str]) -> list[tuple[str, str]]:
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


def _ids(values: list[str]) -> list[str]:
    out: dict[str, None] = {}  # ordered and de-duplicated
    for value in values:
        found = _BRACKETED.findall(value)
        for candidate in [f"<{f}>" for f in found] if found else [value]:
            ident = noise.normalise_id(candidate)
            if ident:
                out[ident] = None
    return list(out)


def _date(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


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
        ctype = _content_type(part)
        if ctype in _REPORT_PARTS:
            return []
        if ctype.startswith("message/"):
            self._message(part, ctype)
            return []
        children = _children(part)
        if children is not None and ctype.startswith("multipart/"):
            if ctype == "multipart/alternative":
                return self._alternative(children, depth)
            return [s for child in children for s in self.part(child, depth + 1)]
        if ctype.startswith("multipart/"):  # no boundary: the payload is all there is
            ctype = "text/plain"
        if ctype in _HEADER_PARTS:
            ident = noise.bounced_message_id([], _text(part, ctype))
            self.embedded_ids += [ident] if ident else []
            return []
        if ctype in ("text/plain", "text/html") and self._is_body(part):
            self.has_body = True
            body = _text(part, ctype)
            return [_Segment(html=body) if ctype == "text/html" else _Segment(plain=body)]
        self._attach(part, ctype, _payload(part))
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
        if _disposition(part) == "attachment":
            return False
        return not (self.has_body and _filename(part))

    def _message(self, part: Message, ctype: str) -> None:
        children = _children(part) or []
        if not children:
            self._attach(part, ctype, _payload(part))
            return
        inner = children[0]
        inner_headers = _headers(inner)
        ident = noise.normalise_id(_first(inner_headers, "message-id"))
        self.embedded_ids += [ident] if ident else []
        data = b""
        for policy in (email.policy.compat32, email.policy.default):
            try:
                data = inner.as_bytes(policy=policy)
                break
            except Exception:
                continue
        subject = _safe_filename(unstructured(_first(inner_headers, "subject")))
        self._attach(part, ctype, data, default_name=f"{subject or 'message'}.eml")

    def _attach(self, part: Message, ctype: str, data: bytes, default_name: str = "") -> None:
        cid = noise.normalise_id(_first(_headers(part), "content-id"))
        disposition = _disposition(part)
        name = _safe_filename(_filename(part)) or default_name
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


def _children(part: Message) -> list[Message] | None:
    try:
        payload = part.get_payload()
    except Exception:
        return None
    if not isinstance(payload, list):
        return None
    return [p for p in payload if isinstance(p, Message)]


def _content_type(part: Message) -> str:
    try:
        ctype = part.get_content_type()
    except Exception:
        raw = _first(_headers(part), "content-type").split(";", 1)[0].strip().lower()
        ctype = raw if re.fullmatch(r"[\w.+-]+/[\w.+-]+", raw) else "text/plain"
    return ctype if isinstance(ctype, str) else "text/plain"


def _param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
        if isinstance(value, tuple):
            value = collapse_rfc2231_value(value)
        return str(value).strip().lower() if value else ""
    except Exception:
        return ""


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        raw = _first(_headers(part), "content-disposition")
        return raw.split(";", 1)[0].strip().lower() or None


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        return ""
    name = recover_header(str(name))
    return decode_words(name) if "=?" in name else name


def _safe_filename(name: str) -> str:
    """The last path component, without control characters or leading dots, at most 200 long."""
    name = re.split(r"[/\\]", scrub(name))[-1]
    name = " ".join(CONTROL_CHARS.sub("", name).split()).lstrip(".").rstrip(". ")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = stem[: 199 - len(ext)] + dot + ext if dot and len(ext) <= 16 else name[:200]
    return name


def _payload(part: Message) -> bytes:
    try:
        if _first(_headers(part), "content-transfer-encoding").strip().lower() == "base64":
            payload = part.get_payload()
            if isinstance(payload, str):  # the stdlib returns undecodable base64 still encoded
                return lenient_b64decode(payload)
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            return data
        payload = part.get_payload()
        return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    except Exception:
        return b""


def _text(part: Message, ctype: str) -> str:
    data = _payload(part)
    charset = _param(part, "charset") or None
    if charset is None and ctype == "text/html":
        meta = _META_CHARSET.search(data[:4096])
        charset = meta.group(1).decode("ascii", "replace") if meta else None
    text = decode_text(data, charset).replace("\r\n", "\n").replace("\r", "\n")
    if ctype == "text/plain" and _param(part, "format") == "flowed":
        text = unflow(text, delsp=_param(part, "delsp") == "yes")
    return text
