"""Every message of the real-world corpus becomes a case, a threaded message, a note on a case
or a quarantine entry, and none raises; delivered again it creates nothing new."""

from __future__ import annotations

from pathlib import Path

from casedesk.context import Context
from tests.channels.email.conftest import counts, take

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.eml"))
OUTCOMES = {"created", "threaded", "followup", "noise_recorded", "quarantined"}


def test_every_corpus_message_lands_somewhere_and_only_once(ctx: Context) -> None:
    assert len(FILES) >= 30
    first = {f.name: take(ctx, f.read_bytes()) for f in FILES}
    assert {r.outcome for r in first.values()} <= OUTCOMES
    quarantined = {n for n, r in first.items() if r.outcome == "quarantined"}
    # Automatic mail about no case, and what cannot be parsed, is held with a reason.
    assert {"garbage.eml", "no_from.eml", "empty.eml", "out_of_office.eml"} <= quarantined
    assert all(first[n].reason for n in quarantined)
    assert first["plain_text.eml"].outcome == "created"
    before = counts(ctx)
    again = {f.name: take(ctx, f.read_bytes(), source="imap") for f in FILES}
    assert counts(ctx) == before  # re-polled: no new case, message or quarantine row
    for name, result in again.items():
        expected = "quarantined" if name in quarantined else "duplicate"
        assert result.outcome == expected, name
