"""HTML found in inbound e-mail: sanitising it for display and extracting its plain text.

Both go through nh3 (html5ever) first, so the text extractor only ever sees well-formed markup.
html5ever's tree builder is quadratic in the number of unclosed elements (100,000 nested ``<div>``
or attribute-distinct ``<b>`` take tens of seconds), so a document with many tags is first
re-balanced by a linear tokenizer that closes every element and caps the nesting depth. Past
``_MAX_TAGS`` even that costs seconds in Python, and such a document (no real mail has that many
tags) is reduced to text with regular expressions.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape, unescape
from html.parser import HTMLParser

import nh3

__all__ = ["html_to_text", "sanitize_html", "scrub"]

# Below this many "<" the worst case of html5ever stays around a tenth of a second.
_REBALANCE_ABOVE = 2000
_MAX_TAGS = 100_000
_MAX_DEPTH = 100

_URL_SCHEMES = nh3.ALLOWED_URL_SCHEMES | {"cid"}
_DROP_WITH_CONTENT = {"script", "style", "title", "template", "iframe", "object", "embed",
                      "svg", "math", "noembed", "noframes", "xmp", "textarea", "select"}
_BLOCK = {"p", "div", "li", "ul", "ol", "dl", "dt", "dd", "table", "tr", "h1", "h2", "h3", "h4",
          "h5", "h6", "section", "article", "header", "footer", "center", "address", "hr",
          "blockquote", "pre", "caption", "figure", "figcaption", "details", "summary"}
_PARAGRAPH = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre", "blockquote"}
_TEXT_TAGS = _BLOCK | {"br", "td", "th", "span"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
         "source", "track", "wbr"}
_RAW = {"script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes",
        "noscript", "template", "plaintext"}

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_TOKEN = re.compile(
    r"(?P<comment><!--.*?(?:-->|\Z))"
    r"|(?P<decl><[!?][^>]*(?:>|\Z))"
    r"|<(?P<end>/)?(?P<name>[A-Za-z][A-Za-z0-9:-]*)(?P<attrs>[^>]*)(?:>|\Z)"
    r"|(?P<text>(?:[^<]|<(?![A-Za-z/!?]))+|<)",
    re.S,
)
_ATTR = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
_SPACE = re.compile(r"[ \t\n\r\f\v\xa0]+")


def scrub(text: str) -> str:
    """Drop NUL and replace lone surrogates, which neither nh3 nor PostgreSQL accept."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    return _SURROGATE.sub("\ufffd", text)


def sanitize_html(html: str) -> str:
    """Return ``html`` safe to show: no script/style, no ``on*`` attributes, no ``javascript:``."""
    try:
        prepared = _prepare(html)
        if prepared is not None:
            return nh3.clean(prepared, url_schemes=_URL_SCHEMES,
                             clean_content_tags=_DROP_WITH_CONTENT, strip_comments=True)
    except Exception:
        pass
    return "<pre>" + escape(_crude_text(html)) + "</pre>"


def html_to_text(html: str, *, drop_quotes: bool = False) -> str:
    """Plain text of ``html`` with line breaks for block elements and ``> `` for blockquotes.

    With ``drop_quotes`` the quoted history that mail clients mark up is left out: Gmail's
    ``gmail_quote``, Yahoo's ``yahoo_quoted``, Thunderbird/Apple ``blockquote type=cite`` and
    everything from Outlook's ``appendonsend``/``divRplyFwdMsg`` marker on.
    """
    try:
        markup = _text_markup(html)
        if markup is not None:
            extractor = _TextExtractor(drop_quotes)
            extractor.feed(markup)
            extractor.close()
            return extractor.text()
    except Exception:
        pass
    return _crude_text(html)


# The parser asks for the sanitised HTML, its text and its text without quotes: one preparation.
@lru_cache(maxsize=2)
def _prepare(html: str) -> str | None:
    html = scrub(html)
    tags = html.count("<")
    if tags > _MAX_TAGS:
        return None
    return _rebalance(html) if tags > _REBALANCE_ABOVE else html


@lru_cache(maxsize=2)
def _text_markup(html: str) -> str | None:
    prepared = _prepare(html)
    if prepared is None:
        return None
    return nh3.clean(prepared, tags=_TEXT_TAGS, clean_content_tags=_DROP_WITH_CONTENT,
                     attributes={"*": {"class", "id", "type"}}, link_rel=None,
                     strip_comments=True)


def _rebalance(html: str) -> str:
    """Re-serialise ``html`` with every element closed and nesting at most ``_MAX_DEPTH``."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while (m := _TOKEN.match(html, pos)) is not None and pos < len(html):
        pos = m.end()
        if m["text"] is not None:
            out.append(m["text"].replace("<", "&lt;"))
            continue
        name = (m["name"] or "").lower()
        if not name:
            continue
        if m["end"]:
            if name in stack:
                i = len(stack) - 1 - stack[::-1].index(name)
                out.extend(f"</{n}>" for n in reversed(stack[i:]))
                del stack[i:]
        elif name in _RAW:
            close = re.compile(rf"</{re.escape(name)}\b[^<>]*>", re.I).search(html, pos)
            pos = close.end() if close else len(html)
        elif name in _VOID:
            out.append(f"<{name}{_attrs(m['attrs'])}>")
        elif len(stack) < _MAX_DEPTH:
            stack.append(name)
            out.append(f"<{name}{_attrs(m['attrs'])}>")
    out.extend(f"</{n}>" for n in reversed(stack))
    return "".join(out)


def _attrs(raw: str) -> str:
    parts = []
    for name, value in _ATTR.findall(raw):
        value = unescape(value[1:-1] if value[:1] in "\"'" and len(value) > 1 else value)
        parts.append(f' {name}="{escape(value)}"')
    return "".join(parts)


def _crude_text(html: str) -> str:
    """Last-resort text: tags removed by regex, for markup the real path cannot digest."""
    # [^<>] rather than [^>]: a run of "<" without ">" must not make this quadratic.
    text = re.sub(r"(?i)<\s*(?:br|/p|/div|/li|/tr)\b[^<>]*>", "\n", scrub(html))
    text = unescape(re.sub(r"<[^<>]*>", "", text))
    lines = (_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _TextExtractor(HTMLParser):
    """Collects text from nh3-cleaned (hence well-formed) markup, line by line."""

    def __init__(self, drop_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self._drop_quotes = drop_quotes
        self._lines: list[str] = []
        self._cur: list[str] = []
        self._quote_depth = 0
        self._pre = 0
        self._skip = 0
        self._stopped = False
        self._blank = False
        self._last_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._stopped:
            return
        if self._skip:
            self._skip += tag not in _VOID
            return
        if self._drop_quotes:
            kind = _quote_kind(tag, dict(attrs))
            if kind == "stop":
                self._stopped = True
                return
            if kind == "skip":
                self._skip = 1
                return
        if tag == "br":
            self._flush(force=True)
        elif tag in ("td", "th"):
            self._cur.append(" ")
        elif tag in _BLOCK:
            self._block(tag)
            if tag == "blockquote":
                self._quote_depth += 1
            elif tag == "pre":
                self._pre += 1
            elif tag == "li":
                self._cur.append("- ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._stopped or tag in _VOID:
            return
        if self._skip:
            self._skip -= 1
            return
        if tag in _BLOCK:
            self._block(tag)
            if tag == "blockquote":
                self._quote_depth = max(0, self._quote_depth - 1)
            elif tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._stopped or self._skip:
            return
        if self._pre:
            first, *rest = data.replace("\r\n", "\n").split("\n")
            self._cur.append(first)
            for line in rest:
                self._flush(force=True)
                self._cur.append(line)
        else:
            self._cur.append(_SPACE.sub(" ", data))

    def _block(self, tag: str) -> None:
        self._flush()
        if tag in _PARAGRAPH and self._lines:
            self._blank = True

    def _flush(self, force: bool = False) -> None:
        line = "".join(self._cur)
        self._cur = []
        line = line.rstrip() if self._pre else line.strip()
        if not (line or force):
            return
        if self._blank and self._lines and self._lines[-1].strip("> "):
            # A paragraph gap inside a quote stays inside the shallower of the two quotes.
            self._lines.append(("> " * min(self._quote_depth, self._last_depth)).rstrip())
        self._blank = False
        self._last_depth = self._quote_depth
        self._lines.append(("> " * self._quote_depth + line).rstrip())

    def text(self) -> str:
        self._flush()
        text = "\n".join(self._lines)
        return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def _quote_kind(tag: str, attrs: dict[str, str | None]) -> str | None:
    classes = set((attrs.get("class") or "").split())
    ident = attrs.get("id") or ""
    if ident in ("appendonsend", "divRplyFwdMsg", "OLK_SRC_BODY_SECTION"):
        return "stop"
    if classes & {"gmail_quote", "gmail_quote_container", "yahoo_quoted", "moz-cite-prefix"}:
        return "skip"
    if tag == "blockquote" and (attrs.get("type") or "").lower() == "cite":
        return "skip"
    return None
