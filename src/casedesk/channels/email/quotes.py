"""Telling the new part of a reply apart from the quoted history and the signature.

Recognised, in plain text: lines starting with ``>``; attribution lines such as "On … wrote:",
"Am … schrieb …:", "Le … a écrit :" (and Spanish, Italian, Dutch, Portuguese, Scandinavian,
Polish, Czech); Outlook's "-----Original Message-----" separator and its "From: / Sent: / To:"
header block (in the same languages); the signature delimiter "-- ". In HTML, the quote
containers of Gmail, Yahoo, Thunderbird, Apple Mail and Outlook (see ``html.html_to_text``).
When nothing is left after stripping, the full text is the answer: a reply is never empty
when the message had content.
"""

from __future__ import annotations

import re

from casedesk.channels.email.html import html_to_text

__all__ = ["reply_from_html", "strip_quoted"]

_MAX_ATTRIBUTION = 500  # longer "lines" are prose
_MAX_SCAN = 5000  # attributions sit near the top of a reply; bounds the work on huge texts
# Polish, Czech and Russian add the feminine ending in brackets: "napisał(a)".
_VERB = (r"(?:wrote|writes|schrieb|a\s+écrit|escribió|ha\s+scritto|schreef|escreveu|skrev"
         r"|napisał|napsal|kirjoitti|написал)(?:\(\w{1,2}\))?")
_STARTS_LIKE_ATTRIBUTION = re.compile(r"^\s*(?:On|Am|Le|El|Il|Op|Em|Den|På|W\s+dniu|Dne)\s", re.I)
_VERB_IN = re.compile(rf"\b{_VERB}(?!\w)", re.I)
_VERB_AT_END = re.compile(rf"\b{_VERB}\s*$", re.I)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(?:Original\s+Message|Ursprüngliche\s+Nachricht|Message\s+d'origine"
    r"|Mensaje\s+original|Messaggio\s+originale|Oorspronkelijk\s+bericht|Originalmeddelande"
    r"|Mensagem\s+original|Opprinnelig\s+melding|Oprindelig\s+meddelelse"
    r"|Wiadomość\s+oryginalna|Původní\s+zpráva)\s*-{2,}\s*$",
    re.I,
)
_HDR_FROM = re.compile(r"^\s*\*?(?:From|Von|De|Van|Da|Fra|Från|Od|Lähettäjä)\s*\*?\s*:", re.I)
_HDR_SENT = re.compile(
    r"^\s*\*?(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Enviada|Verzonden|Inviato|Data|Sendt"
    r"|Skickat|Wysłano|Odesláno|Lähetetty)\s*\*?\s*:",
    re.I,
)
_HDR_OTHER = re.compile(
    r"^\s*\*?(?:To|An|À|A|Para|Aan|Til|Till|Do|Komu|Vastaanottaja|Cc|Subject|Betreff|Objet"
    r"|Asunto|Onderwerp|Oggetto|Assunto|Emne|Ämne|Temat|Předmět|Aihe)\s*\*?\s*:",
    re.I,
)
_SEPARATOR = re.compile(r"^\s*[_\-=]{8,}\s*$")
_SIGNATURE = re.compile(r"^-- ?$")


def strip_quoted(text: str) -> str:
    """The new part of the reply ``text``; ``text`` itself when nothing would be left."""
    lines = text.split("\n")
    lines = lines[: _hard_cut(lines)]
    lines = _cut_attribution(lines)
    kept = [line for line in lines if not line.lstrip(" ").startswith(">")]
    reply = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in kept)).strip()
    return reply or text.strip()


def reply_from_html(html: str, fallback: str) -> str:
    """The new part of an HTML reply, with the mail clients' quote containers left out."""
    return strip_quoted(html_to_text(html, drop_quotes=True)) or fallback.strip()


def _hard_cut(lines: list[str]) -> int:
    """Index of the first line of quoted history or signature that ends the reply outright."""
    for i, line in enumerate(lines):
        if _SIGNATURE.match(line) or _ORIGINAL.match(line):
            return i
        if _HDR_FROM.match(line) and _is_header_block(lines[i + 1 : i + 8]):
            # Outlook draws a rule above the header block; it belongs to the quote.
            while i > 0 and (not lines[i - 1].strip() or _SEPARATOR.match(lines[i - 1])):
                i -= 1
            return i
    return len(lines)


def _is_header_block(following: list[str]) -> bool:
    fields = [line for line in following if line.strip()][:5]
    return any(_HDR_SENT.match(f) for f in fields) and any(_HDR_OTHER.match(f) for f in fields)


def _cut_attribution(lines: list[str]) -> list[str]:
    for i in range(min(len(lines), _MAX_SCAN)):
        span = _attribution_span(lines, i)
        if span:
            rest = lines[i + span :]
            # Answers written between the quoted lines stay; a plain quoted tail goes.
            return lines[:i] + rest if _interleaved(rest) else lines[:i]
    return lines


def _attribution_span(lines: list[str], i: int) -> int:
    """How many lines (up to three: clients wrap long ones) form an attribution at ``i``."""
    if not lines[i].strip() or lines[i].lstrip(" ").startswith(">"):
        return 0
    joined = ""
    for span in range(1, 4):
        if i + span > len(lines) or not lines[i + span - 1].strip():
            return 0
        joined = (joined + " " + lines[i + span - 1].strip()).strip()
        if len(joined) > _MAX_ATTRIBUTION:
            return 0
        if _is_attribution(joined) or (
            _ends_with_verb(joined) and _next_is_quote(lines, i + span)
        ):
            return span
    return 0


def _is_attribution(joined: str) -> bool:
    """ "On <date>, <name> wrote:" and its translations; the verb follows the time's colon."""
    if not joined.endswith(":") or not _STARTS_LIKE_ATTRIBUTION.match(joined):
        return False
    return _VERB_IN.search(joined[:-1].rsplit(":", 1)[-1]) is not None


def _ends_with_verb(joined: str) -> bool:
    """ "<name> wrote:" without a date; only taken when a quote follows."""
    return joined.endswith(":") and _VERB_AT_END.search(joined[:-1]) is not None


def _next_is_quote(lines: list[str], start: int) -> bool:
    for line in lines[start:]:
        if line.strip():
            return line.lstrip(" ").startswith(">")
    return False


def _interleaved(rest: list[str]) -> bool:
    seen_quote = False
    for line in rest:
        if line.lstrip(" ").startswith(">"):
            seen_quote = True
        elif line.strip() and seen_quote:
            return True
    return False
