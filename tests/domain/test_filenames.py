"""Names of files people send are made safe: no path, no control characters, no hidden
(leading-dot) names, a bounded length with the extension kept."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from casedesk.domain.filenames import safe_filename


def test_paths_controls_and_dots_are_dropped() -> None:
    assert safe_filename("C:\\Users\\ann\\receipt.pdf") == "receipt.pdf"
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("in\r\nvoice\x00.pdf") == "invoice.pdf"
    assert safe_filename("...hidden") == "hidden"
    assert safe_filename("  spaced   name .txt. ") == "spaced name .txt"
    assert safe_filename("/") == ""


def test_long_names_keep_their_extension() -> None:
    name = safe_filename("x" * 300 + ".jpeg")
    assert len(name) == 200 and name.endswith(".jpeg")


@given(st.text())
def test_any_name_comes_out_safe(raw: str) -> None:
    name = safe_filename(raw)
    assert len(name) <= 200
    assert "/" not in name and "\\" not in name
    assert not any(ord(c) < 32 or ord(c) == 0x7F for c in name)
    assert not name.startswith(".")
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in name)
    name.encode("utf-8")  # storable and mailable
