"""``InboundMessage.on_stored``: a channel's own rows commit in the intake transaction, or
nothing does."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casedesk.context import Context
from casedesk.db.tables import Case, Message
from casedesk.services import intake
from casedesk.services.customers import CustomerInput


def inbound(hook, external_id: str = "chat:x:1") -> intake.InboundMessage:  # type: ignore[no-untyped-def]
    return intake.InboundMessage(
        channel="chat",
        sender=CustomerInput(name="Ann", email="ann@example.com"),
        subject="Chat: hi",
        body="hi",
        external_id=external_id,
        on_stored=hook,
    )


def test_the_hook_runs_in_the_intake_transaction(ctx: Context) -> None:
    seen: list[intake.IntakeResult] = []

    def fail(s: Session, result: intake.IntakeResult) -> None:
        assert s.get(Case, result.case_number) is not None  # visible inside the transaction
        raise RuntimeError("the channel's own write failed")

    with pytest.raises(RuntimeError):
        intake.receive(ctx.db, ctx.config, inbound(fail), now=ctx.clock.now())
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0
        assert s.scalar(select(func.count()).select_from(Message)) == 0

    first = intake.receive(
        ctx.db, ctx.config, inbound(lambda s, r: seen.append(r)), now=ctx.clock.now()
    )
    again = intake.receive(
        ctx.db, ctx.config, inbound(lambda s, r: seen.append(r)), now=ctx.clock.now()
    )
    assert (first.outcome, again.outcome) == ("created", "duplicate")
    assert seen == [first]  # not called for the duplicate
