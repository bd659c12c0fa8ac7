"""Many processes creating cases at once get unique ticket numbers and lose nothing."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

from sqlalchemy import func, select

from casedesk.config import AppConfig
from casedesk.context import Context
from casedesk.db.session import Database
from casedesk.db.tables import AuditEvent, Case
from casedesk.domain.actors import Actor
from casedesk.services import audit, cases, customers

PROCESSES = 4
PER_PROCESS = 40


def _create_many(url: str, worker: int) -> list[int]:
    db = Database(url, pool_size=2)
    actor = Actor(kind="user", id=1, label=f"worker{worker}", role="agent", origin="test")
    numbers = []
    for i in range(PER_PROCESS):
        # Every process also creates the same customer, to race the find-or-create.
        data = cases.NewCase(
            subject=f"w{worker} #{i}", customer=customers.CustomerInput(email="shared@example.com")
        )
        case = cases.create_case(db, AppConfig(), data, actor=actor, now=datetime.now(UTC))
        numbers.append(case.number)
    db.dispose()
    return numbers


def test_concurrent_processes_get_unique_ids(ctx: Context) -> None:
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        results = pool.starmap(
            _create_many, [(ctx.settings.database_url, w) for w in range(PROCESSES)]
        )
    numbers = [n for chunk in results for n in chunk]
    assert len(numbers) == len(set(numbers)) == PROCESSES * PER_PROCESS
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == PROCESSES * PER_PROCESS
        assert s.scalar(select(func.count(func.distinct(Case.customer_id)))) == 1
        created = select(func.count()).where(AuditEvent.action == "case.created")
        assert s.scalar(created) == PROCESSES * PER_PROCESS
    audit.seal(ctx.db, now=datetime.now(UTC))
    assert audit.verify(ctx.db).ok
