"""The inbound e-mail parser over a hand-written corpus (``corpus/*.eml``), plus fuzzing."""
# The expected values are non-Latin text on purpose (en dashes, Cyrillic).
# ruff: noqa: RUF001

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casedesk.channels.email.parse import (
    ParsedEmail,
    Unparseable,
    html_to_text,
    parse_email,
    sanitize_html,
)
from casedesk.channels.email.quotes import strip_quoted

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.eml"))
OWN = ("support@casedesk.test",)
UNPARSEABLE = {"empty.eml": "empty", "garbage.eml": "header", "no_from.eml": "From"}


def load(name: str, **kwargs: object) -> ParsedEmail:
    kwargs.setdefault("own_addresses", OWN)
    return parse_email((CORPUS / name).read_bytes(), **kwargs)  # type: ignore[arg-type]


def check_invariants(parsed: ParsedEmail) -> None:
    strings = [parsed.message_id, parsed.from_address, parsed.from_name, parsed.subject,
               parsed.text, parsed.reply_text, parsed.html or "", *parsed.to, *parsed.cc,
               *parsed.in_reply_to, *parsed.references,
               *(a.filename for a in parsed.attachments)]
    for value in strings:
        value.encode("utf-8")  # no lone surrogates: storable in PostgreSQL
        assert "\x00" not in value
    assert parsed.from_address == parsed.from_address.lower()
    assert parsed.subject and parsed.message_id
    assert not any(c in parsed.message_id for c in "<> ")
    assert parsed.date is None or parsed.date.tzinfo is not None
    assert bool(parsed.reply_text.strip()) == bool(parsed.text.strip())
    for attachment in parsed.attachments:
        assert attachment.filename and not re.search(r"[/\\]", attachment.filename)
        assert attachment.oversized == (attachment.content is None)


def test_the_corpus_covers_at_least_twenty_messages() -> None:
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_corpus_file_parses_or_is_unparseable(path: Path) -> None:
    raw = path.read_bytes()
    if path.name in UNPARSEABLE:
        with pytest.raises(Unparseable, match=UNPARSEABLE[path.name]):
            parse_email(raw, own_addresses=OWN)
        return
    check_invariants(parse_email(raw, own_addresses=OWN))


# --- header fields --------------------------------------------------------------------------


def test_plain_message() -> None:
    parsed = load("plain_text.eml")
    assert parsed.message_id == "CAF8x2=pQ1mK@mail.example.org"
    assert parsed.from_address == "anna.schmidt@example.org"
    assert parsed.from_name == "Anna Schmidt"
    assert parsed.to == ["support@casedesk.test"]
    assert parsed.subject == "Cannot log in after password reset"
    assert parsed.date is not None and parsed.date.isoformat() == "2026-01-05T10:12:40+01:00"
    assert parsed.text.startswith("Hello,\n\nsince I reset my password")
    assert "\r" not in parsed.text
    assert parsed.html is None and parsed.attachments == []
    assert parsed.auto_reason is None and not parsed.is_bounce


def test_threading_ids_are_normalised() -> None:
    parsed = load("german_reply.eml")
    assert parsed.in_reply_to == ["case-000126.reply.2@casedesk.test"]
    assert parsed.references == ["klaus-20260112075500@example.de",
                                 "case-000126.reply.1@casedesk.test",
                                 "case-000126.reply.2@casedesk.test"]


@pytest.mark.parametrize(("name", "subject", "from_name", "snippet"), [
    ("iso_8859_1.eml", "Problème de facturation à régler", "François Lefèvre",
     "La facture de décembre est erronée : le montant dû est 120 EUR"),
    ("windows_1252.eml", "Pricing – “Premium” plan", "Mike O'Brien",
     "the “Premium” plan costs €49 – not €39 as your website says…"),
    ("shift_jis.eml", "ログインできません", "山田 太郎", "昨日からログインできません。"),
    ("iso_2022_jp.eml", "請求書について", "佐藤 花子", "請求書の宛先を変更してください。"),
    ("koi8_r.eml", "Не работает экспорт", "Иван Петров", "Экспорт в Excel не работает."),
    ("wrong_charset.eml", "Lieferung fehlt", "Klaus Bauer", "die Lieferung für München"),
    ("unknown_charset.eml", "Fråga om konto", "Lena", "Jag har en fråga om mitt konto"),
    ("missing_content_type.eml", "Adgangskode", "", "Hvad gør jeg?\n— Sven"),
    ("raw_utf8_headers.eml", "Rückerstattung für Bestellung 4471", "Jürgen Weiß",
     "Betrag für Bestellung 4471"),
    ("french_reply.eml", "Re : [CASE-000127] Problème de facturation", "François Lefèvre",
     "Merci, c'est corrigé."),
])
def test_charsets_are_decoded(name: str, subject: str, from_name: str, snippet: str) -> None:
    parsed = load(name)
    assert parsed.subject == subject
    assert parsed.from_name == from_name
    assert snippet in parsed.text
    assert "\ufffd" not in parsed.text


def test_broken_base64_decodes_as_far_as_it_goes() -> None:
    parsed = load("broken_base64.eml")
    assert parsed.text.startswith("Hello, the attached file is corrupt. Please resend")
    assert parsed.attachments[0].filename == "contract.pdf"
    assert parsed.attachments[0].content is not None
    assert parsed.attachments[0].content.startswith(b"%PDF-1.4")


def test_missing_message_id_gets_a_stable_synthetic_one() -> None:
    raw = (CORPUS / "no_message_id.eml").read_bytes()
    first, again = parse_email(raw), parse_email(raw)
    assert re.fullmatch(r"sha256-[0-9a-f]{64}@casedesk\.invalid", first.message_id)
    assert first.message_id == again.message_id
    assert parse_email(raw + b"\n").message_id != first.message_id
    assert first.date is not None and first.date.tzinfo is not None


@pytest.mark.parametrize(("header", "expected"), [
    (b"Subject: =?utf-8?Q?=C3?= =?utf-8?Q?=A4rger?=", "ärger"),  # one character split in two
    (b"Subject: =?utf-8?B?w6Q?=  =?utf-8?B?w7Y=?= und", "äö und"),  # no padding; gap dropped
    (b"Subject: =?x-nonsense?Q?caf=E9?=", "café"),
    (b"Subject: =?utf-8?B?!!!?= ok", "ok"),
    (b"Subject:    \t ", "(no subject)"),
    (b"Subject: a\r\n  folded\r\n\tline", "a folded line"),
])
def test_subjects(header: bytes, expected: str) -> None:
    raw = b"From: a@example.com\r\n" + header + b"\r\n\r\nbody\r\n"
    assert parse_email(raw).subject == expected


def test_addresses() -> None:
    raw = (b"From: Support Team <MAILER-DAEMON>\n"
           b'To: "Doe, Jane" <Jane@Example.com>, bob@example.com, undisclosed-recipients:;\n'
           b"Cc: jane@example.com, not an address\n"
           b"Reply-To: <Replies@Example.com>\n"
           b"Date: not a date\n\nhi\n")
    parsed = parse_email(raw)
    assert parsed.from_address == "mailer-daemon" and parsed.is_bounce
    assert parsed.to == ["jane@example.com", "bob@example.com"]
    assert parsed.cc == ["jane@example.com"]
    assert parsed.reply_to == "replies@example.com"
    assert parsed.date is None


# --- bodies and attachments -------------------------------------------------------------------


def test_multipart_alternative_prefers_the_plain_part() -> None:
    parsed = load("multipart_alternative.eml")
    assert parsed.text.startswith("Hi team,\n\nWhen I export the report to CSV")
    assert "1. Reports → Sales" in parsed.text
    assert parsed.html is not None and "<ol><li>Reports → Sales</li>" in parsed.html


def test_html_only_is_sanitised_and_converted() -> None:
    parsed = load("html_only.eml")
    assert parsed.html is not None
    for bad in ("<script", "<style", "onclick", "onload", "onerror", "javascript:", "cookie"):
        assert bad not in parsed.html.lower()
    assert 'href="https://shop.example.com/orders/5531"' in parsed.html
    assert parsed.text.startswith("Hello,\n\nYour order #5531 could not be shipped")
    assert "Update the address or view the order." in parsed.text
    assert "- Item: USB-C cable\n- Qty: 2" in parsed.text
    assert "Order problem" not in parsed.text  # the <title>


def test_attachments() -> None:
    parsed = load("attachments.eml")
    assert parsed.text.startswith("Hello, the error looks like this")
    assert parsed.html is not None and 'src="cid:screenshot.01@example.it"' in parsed.html
    got = [(a.filename, a.content_type, a.size, a.content_id, a.inline)
           for a in parsed.attachments]
    assert got == [
        ("screenshot.png", "image/png", 70, "screenshot.01@example.it", True),
        ("invoice-2025-1187.pdf", "application/pdf", 142, None, False),
        ("Abrechnung März – Kosten.xlsx",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 19, None, False),
        ("notes–draft.txt", "text/plain", 24, None, False),
        ("log.txt", "application/octet-stream", 11, None, False),
    ]
    assert parsed.attachments[0].content is not None
    assert parsed.attachments[0].content.startswith(b"\x89PNG")
    assert parsed.attachments[1].content is not None
    assert parsed.attachments[1].content.startswith(b"%PDF-1.4")


def test_oversized_attachments_keep_only_their_metadata() -> None:
    parsed = load("attachments.eml", max_attachment_bytes=100)
    by_name = {a.filename: a for a in parsed.attachments}
    pdf = by_name["invoice-2025-1187.pdf"]
    assert pdf.oversized and pdf.content is None and pdf.size == 142
    png = by_name["screenshot.png"]
    assert not png.oversized and png.content is not None


def test_message_over_max_bytes_is_unparseable() -> None:
    raw = (CORPUS / "plain_text.eml").read_bytes()
    with pytest.raises(Unparseable, match="over the limit"):
        parse_email(raw, max_bytes=100)


def test_forwarded_message_is_an_attachment() -> None:
    parsed = load("forward_rfc822.eml")
    assert parsed.text == "Please see the message below - I was charged twice."
    [forwarded] = parsed.attachments
    assert forwarded.content_type == "message/rfc822"
    assert forwarded.filename == "Your subscription renewal failed.eml"
    assert forwarded.content is not None
    inner = parse_email(forwarded.content)
    assert inner.message_id == "renewal-998877@payments.example.com"
    assert inner.text.startswith("Your renewal of plan PRO failed.")
    assert not parsed.is_bounce and parsed.bounced_message_id is None


def test_very_deep_nesting_still_yields_the_headers() -> None:
    deep = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i)
                    for i in range(5000))
    parsed = parse_email(b"From: fuzz@example.com\nSubject: deep\n" + deep + b"\nbottom\n")
    assert parsed.from_address == "fuzz@example.com" and parsed.subject == "deep"
    check_invariants(load("deep_nesting.eml"))


def test_empty_plain_alternative_falls_back_to_html() -> None:
    raw = (b"From: a@example.com\nContent-Type: multipart/alternative; boundary=x\n\n"
           b"--x\nContent-Type: text/plain\n\n \n--x\nContent-Type: text/html\n\n"
           b"<p>Real <b>content</b></p>\n--x--\n")
    assert parse_email(raw).text == "Real content"


def test_input_types() -> None:
    raw = (CORPUS / "plain_text.eml").read_bytes()
    assert parse_email(bytearray(raw)) == parse_email(raw)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_email(raw.decode())  # type: ignore[arg-type]


# --- quoted history -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "reply"), [
    ("gmail_reply.eml", "Clearing the cookies worked, thank you!\n\nAnna"),
    ("gmail_reply_html_only.eml", "Works now, thanks."),
    ("outlook_reply.eml", "Thanks, the price on the website is correct now.\n\nMike"),
    ("german_reply.eml",
     "Hallo,\n\ndas Paket ist heute angekommen, vielen Dank für die schnelle Hilfe!"),
    ("french_reply.eml", "Merci, c'est corrigé."),
])
def test_quoted_history_is_stripped(name: str, reply: str) -> None:
    parsed = load(name)
    assert parsed.reply_text == reply
    assert len(parsed.text) > len(parsed.reply_text)  # the full text keeps the history


def test_format_flowed_is_joined() -> None:
    text = load("german_reply.eml").text
    assert "vielen Dank für die schnelle Hilfe!" in text
    assert "> wir haben die Sendung erneut verschickt. Die Sendungsnummer lautet 0034" in text


@pytest.mark.parametrize(("text", "reply"), [
    ("Thanks!\n\nOn Mon, Jan 5, 2026 at 10:00 AM John <\njohn@example.com> wrote:\n\n> old\n",
     "Thanks!"),
    ("Fixed.\n\n-----Original Message-----\nFrom: S\nSent: Monday\nTo: me\n\nold", "Fixed."),
    ("Danke.\n\n-----Ursprüngliche Nachricht-----\nVon: S\nGesendet: Montag\n\nalt", "Danke."),
    ("Hallo,\n\nVon: Support <s@x.de>\nGesendet: Montag, 5. Januar 2026\nAn: Kunde\n"
     "Betreff: AW: Rechnung\n\nalt", "Hallo,"),
    ("Hola\n\nEl lun, 5 ene 2026 a las 10:00, Ana (<ana@x.es>) escribió:\n> viejo", "Hola"),
    ("See below\n-- \nJohn Doe\nACME Inc.", "See below"),
    ("> question 1\nanswer 1\n> question 2\nanswer 2", "answer 1\nanswer 2"),
    ("On Mon John wrote:\n> q1\nanswer 1\n> q2\nanswer 2", "answer 1\nanswer 2"),
    ("My colleague wrote: the invoice is wrong.\nPlease fix.",
     "My colleague wrote: the invoice is wrong.\nPlease fix."),
    ("> only quoted\n> history", "> only quoted\n> history"),
    ("-- \nonly a signature", "-- \nonly a signature"),
])
def test_strip_quoted(text: str, reply: str) -> None:
    assert strip_quoted(text) == reply


# --- automatic mail ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "reason", "is_bounce"), [
    ("out_of_office.eml", "auto-submitted: auto-replied", False),
    ("exchange_oof.eml", "x-auto-response-suppress: all", False),
    ("x_autoreply.eml", "x-autoreply: yes", False),
    ("newsletter_bulk.eml", "precedence: bulk", False),
    ("dsn_bounce.eml", "dsn: delivery-status", True),
    ("ndr_postmaster.eml", "bounce: postmaster", True),
    ("qmail_bounce.eml", "bounce: mailer-daemon", True),
    ("read_receipt.eml", "mdn: disposition-notification", False),
    ("own_address.eml", "own-address: support@casedesk.test", False),
])
def test_automatic_mail_is_recognised(name: str, reason: str, is_bounce: bool) -> None:
    parsed = load(name)
    assert parsed.auto_reason == reason
    assert parsed.is_auto
    assert parsed.is_bounce is is_bounce


@pytest.mark.parametrize("name", ["plain_text.eml", "list_id_normal.eml", "gmail_reply.eml",
                                  "outlook_reply.eml", "forward_rfc822.eml"])
def test_normal_mail_is_not_automatic(name: str) -> None:
    parsed = load(name)
    assert parsed.auto_reason is None and not parsed.is_bounce


def test_own_addresses_are_compared_case_insensitively() -> None:
    assert load("own_address.eml", own_addresses=()).auto_reason is None
    assert load("own_address.eml", own_addresses=" <SUPPORT@casedesk.TEST> ").is_auto


@pytest.mark.parametrize(("name", "original"), [
    ("dsn_bounce.eml", "case-000130.reply.1@casedesk.test"),
    ("ndr_postmaster.eml", "case-000131.reply.3@casedesk.test"),
    ("qmail_bounce.eml", "case-000132.reply.1@casedesk.test"),
])
def test_bounces_name_the_original_message(name: str, original: str) -> None:
    assert load(name).bounced_message_id == original


def test_a_read_receipt_is_no_bounce() -> None:
    assert load("read_receipt.eml").bounced_message_id is None


@pytest.mark.parametrize(("headers", "reason"), [
    (b"Auto-Submitted: no\n", None),
    (b"Auto-Submitted: auto-generated; owner-email=x@y\n", "auto-submitted: auto-generated"),
    (b"Precedence: junk\n", "precedence: junk"),
    (b"Precedence: first-class\n", None),
    (b"X-Auto-Response-Suppress: DR, RN\n", None),
    (b"X-Auto-Response-Suppress: DR, OOF, AutoReply\n", "x-auto-response-suppress: autoreply, oof"),
    (b"X-Autorespond: 1\n", "x-autorespond: 1"),
    (b"List-Id: <users.lists.example.org>\n", None),
    (b"Return-Path: <>\n", "bounce: null sender"),
])
def test_auto_headers(headers: bytes, reason: str | None) -> None:
    parsed = parse_email(b"From: someone@example.org\n" + headers + b"\nhello\n")
    assert parsed.auto_reason == reason


# --- HTML helpers -----------------------------------------------------------------------------


def test_sanitize_html() -> None:
    dirty = ('<p onclick="x()">Hi<script>alert(1)</script></p><style>p{}</style>'
             '<a href="javascript:alert(1)">a</a><a href="https://example.com/">b</a>'
             '<img src="cid:logo@x" onerror="x()">')
    clean = sanitize_html(dirty)
    assert clean == ('<p>Hi</p><a rel="noopener noreferrer">a</a>'
                     '<a href="https://example.com/" rel="noopener noreferrer">b</a>'
                     '<img src="cid:logo@x">')


def test_html_to_text_keeps_line_structure() -> None:
    html = ("<div>one<br>two</div><p>para</p><ul><li>a</li><li>b</li></ul>"
            "<blockquote><p>quoted</p></blockquote><p>x&nbsp;&amp;&lt;y</p>")
    assert html_to_text(html) == "one\ntwo\n\npara\n\n- a\n- b\n\n> quoted\n\nx &<y"


def test_pathological_html_stays_fast() -> None:
    # html5ever alone needs tens of seconds for each of these.
    for html in ("<div>" * 100_000, "".join(f"<b id={i}>x" for i in range(30_000))):
        assert len(sanitize_html(html)) < len(html)
        html_to_text(html)


# --- fuzzing ----------------------------------------------------------------------------------

SEEDS = [p.read_bytes() for p in FILES if p.name not in ("deep_nesting.eml", "empty.eml")]
TOKENS = [b"\n", b"\r\n", b"=?utf-8?b?", b"=?x?q?", b"?=", b"<", b">", b"--", b";", b'"', b":",
          b"\n--", b"boundary=", b"charset=", b"charset=utf-7", b"Content-Type: message/rfc822\n\n",
          b"Content-Type: multipart/mixed; boundary=a\n\n--a\n", b"\x00", b"\x80", b"\xff",
          b"Content-Transfer-Encoding: base64\n", b"=\n", b"<div>", b"filename*=", b"%"]
FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def parse_or_unparseable(raw: bytes) -> None:
    try:
        parsed = parse_email(raw, own_addresses=OWN)
    except Unparseable as exc:
        # An "unexpected" failure means a guard inside the parser is missing.
        assert not exc.reason.startswith("unexpected"), repr(exc.__cause__)
        return
    check_invariants(parsed)


@st.composite
def mutated_corpus(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "token", "delete", "flip", "truncate"]))
        if op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=20))
        elif op == "token":
            data[pos:pos] = draw(st.sampled_from(TOKENS))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 200))]
        elif op == "flip" and pos < len(data):
            data[pos] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[pos:]
    return bytes(data)


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes_only_ever_raise_unparseable(raw: bytes) -> None:
    parse_or_unparseable(raw)


@FUZZ
@given(st.binary(max_size=500))
def test_random_bodies_after_valid_headers(body: bytes) -> None:
    parse_or_unparseable(b"From: a@example.com\nContent-Type: multipart/mixed; boundary=a\n\n"
                         + body)


@FUZZ
@given(mutated_corpus())
def test_mutated_corpus_only_ever_raises_unparseable(raw: bytes) -> None:
    parse_or_unparseable(raw)
