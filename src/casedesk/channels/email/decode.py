"""Decoding the text inside e-mail: charsets (with the fallbacks real mail needs), RFC 2047
encoded words, lenient base64 and RFC 3676 format=flowed."""

from __future__ import annotations

import base64
import binascii
import codecs
import re

from casedesk.channels.email.html import scrub

_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "ascii",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "iso-2022-jp": "iso2022_jp_ext",
    "iso-8859-8-i": "iso8859-8",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
}
_WESTERN = {"ascii", "utf-8", "cp1252", "iso8859-1"}
_NOT_CHARSETS = {"unicode-escape", "raw-unicode-escape", "undefined", "idna", "punycode"}
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def recover_header(value: str) -> str:
    """Undo the parser's surrogate escapes of raw 8-bit header bytes (mostly unlabelled UTF-8)."""
    if not any("\udc80" <= c <= "\udcff" for c in value):
        return scrub(value)
    try:
        return decode_text(value.encode("utf-8", "surrogateescape"), None)
    except Exception:
        return scrub(value)


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words, leniently: bad padding, unknown charsets, split words."""
    out: list[str] = []
    pending = bytearray()
    charset: str | None = None
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        if charset is None or gap.strip():  # whitespace between two encoded words is dropped
            out.append(decode_text(bytes(pending), charset) if pending else "")
            pending.clear()
            out.append(gap)
        word_charset = match.group(1).split("*", 1)[0].lower()
        if charset is not None and word_charset != charset and pending:
            out.append(decode_text(bytes(pending), charset))
            pending.clear()
        charset = word_charset
        pending += encoded_word_bytes(match.group(2), match.group(3))
        pos = match.end()
    if pending:
        out.append(decode_text(bytes(pending), charset))
    out.append(value[pos:])
    return scrub("".join(out))


def encoded_word_bytes(encoding: str, text: str) -> bytes:
    if encoding in "bB":
        return lenient_b64decode(text)
    try:
        return binascii.a2b_qp(text.encode("utf-8", "replace"), header=True)
    except (binascii.Error, ValueError):
        return b""


def lenient_b64decode(text: str | bytes) -> bytes:
    """Base64 decoded as far as it goes: junk characters dropped, each padded run on its own."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    out = bytearray()
    # Some mailers concatenate separately encoded chunks, padding and all.
    for chunk in re.split(r"=+", re.sub(r"[^A-Za-z0-9+/=]", "", text)):
        if len(chunk) % 4 == 1:  # a lone trailing character carries no whole byte
            chunk = chunk[:-1]
        try:
            out += base64.b64decode(chunk + "=" * (-len(chunk) % 4))
        except (binascii.Error, ValueError):
            continue
    return bytes(out)


def unstructured(value: str) -> str:
    return " ".join(CONTROL_CHARS.sub(" ", decode_words(value)).split())


def decode_text(data: bytes, charset: str | None) -> str:
    """``data`` in ``charset``, or, when that is unknown or wrong, UTF-8/Windows-1252/Latin-1."""
    codec = codec_for(charset)
    if codec is not None:
        try:
            return scrub(data.decode(codec))
        except Exception:
            pass
    if codec is None or codec in _WESTERN:
        for fallback in ("utf-8", "cp1252"):
            try:
                return scrub(data.decode(fallback))
            except UnicodeDecodeError:
                continue
        return scrub(data.decode("latin-1"))
    try:
        return scrub(data.decode(codec, "replace"))
    except Exception:
        return scrub(data.decode("utf-8", "replace"))


def codec_for(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip("\"'").strip().lower()
    try:
        info = codecs.lookup(_CHARSET_ALIASES.get(name, name))
    except Exception:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name


def unflow(text: str, *, delsp: bool) -> str:
    """Join RFC 3676 format=flowed soft line breaks back into paragraphs."""
    out: list[str] = []
    buf: str | None = None
    depth = 0
    for line in text.split("\n"):
        level = len(line) - len(line.lstrip(">"))
        content = line[level:].removeprefix(" ")
        if buf is not None and level != depth:
            out.append(quote_line(buf, depth))
            buf = None
        soft = content.endswith(" ") and content != "-- "
        buf = (buf or "") + (content[:-1] if soft and delsp else content)
        depth = level
        if not soft:
            out.append(quote_line(buf, depth))
            buf = None
    if buf is not None:
        out.append(quote_line(buf, depth))
    return "\n".join(out)


def quote_line(text: str, depth: int) -> str:
    return (">" * depth + " " + text).rstrip(" ") if depth else text
