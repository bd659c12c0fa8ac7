"""Headers of casedesk's outgoing mail read back exactly as given, whichever way they were
set: stored as they are (short ASCII) or encoded and folded (anything else)."""

from __future__ import annotations

from email import message_from_string, policy
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casedesk.channels.email.outbound import _put

VALUES = [
    "[CASE-000123] We received your request",
    "Zoë Müller <zoe@example.com>",
    "[CASE-000123] " + "Points not credited after the catalogue sync " * 3,
    "Réclamation : points non crédités",
    "<case-000123.ack.0123456789abcdef@help.example>",
]


def _read_back(name: str, value: str) -> str:
    msg = EmailMessage()
    _put(msg, name, value)
    msg.set_content("body")
    return str(message_from_string(msg.as_string(), policy=policy.default)[name])


@pytest.mark.parametrize("value", VALUES)
def test_a_subject_reads_back_as_set(value: str) -> None:
    assert _read_back("Subject", value) == value


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=120))
def test_any_printable_subject_reads_back_as_set(value: str) -> None:
    expected = " ".join(value.split())  # folding may turn runs of white space into one space
    assert " ".join(_read_back("Subject", value).split()) == expected


def test_a_line_break_never_reaches_the_wire_as_a_new_header() -> None:
    msg = EmailMessage()
    with pytest.raises(ValueError):
        _put(msg, "Subject", "hello\r\nBcc: victim@example.com")
