"""Saved responses for one case: the config's ``[[responses]]`` with their placeholders filled
for that case and the agent who will send them."""

from __future__ import annotations

from dataclasses import dataclass

from casedesk.config import AppConfig
from casedesk.db.tables import Case
from casedesk.domain.responses import fill
from casedesk.services.case_rows import ticket_id


@dataclass(frozen=True)
class FilledResponse:
    id: str
    name: str
    visibility: str
    body: str


def for_case(config: AppConfig, case: Case, *, agent_name: str) -> list[FilledResponse]:
    customer = case.customer
    values = {
        "customer_name": customer.name if customer else "",
        "customer_email": (customer.email or "") if customer else "",
        "ticket_id": ticket_id(config, case.number),
        "subject": case.subject,
        "agent_name": agent_name,
    }
    return [
        FilledResponse(r.id, r.name, r.visibility, fill(r.body, values)) for r in config.responses
    ]
