"""Reading the case queue: filters, sort orders and opaque keyset cursors.

Pages continue from the last row seen (``(sort value, number) > cursor``), never from an offset,
so a page costs the same at row 10 and row 1,000,000 and new cases never shift what comes next.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select, text, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from casedesk.db.session import Database
from casedesk.db.tables import Case, CaseTag, Team, User
from casedesk.domain import case_fields
from casedesk.domain.errors import InvalidInput
from casedesk.services import search

SORTS: dict[str, InstrumentedAttribute[Any]] = {
    "created": Case.number,
    "updated": Case.updated_at,
    "priority": Case.priority,
}
MAX_LIMIT = 200


@dataclass(frozen=True)
class CaseFilter:
    status: Sequence[str] = ()
    status_category: Sequence[str] = ()
    channel: Sequence[str] = ()
    priority: Sequence[str] = ()
    assignee: str | None = None  # user id, e-mail, "me" or "none"
    team: str | None = None  # team name or "none"
    tag: str | None = None
    category: str | None = None
    customer_id: int | None = None
    q: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[Case]
    next_cursor: str | None


def _encode(sort: str, values: list[Any]) -> str:
    raw = json.dumps(
        {"s": sort, "v": [v.isoformat() if isinstance(v, datetime) else v for v in values]}
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> list[Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        values = data["v"]
        assert data["s"] == sort and isinstance(values, list) and len(values) == 2
    except Exception as exc:
        raise InvalidInput(
            "the cursor is not valid for this sort order; start again without it", field="cursor"
        ) from exc
    if SORTS[sort.lstrip("-")] is Case.updated_at:
        values[0] = datetime.fromisoformat(values[0])
    return values


def _filtered(
    query: Select[Any],
    f: CaseFilter,
    *,
    me: int | None,
    text_condition: ColumnElement[bool] | None = None,
) -> Select[Any]:
    if f.status:
        query = query.where(Case.status.in_(f.status))
    if f.status_category:
        query = query.where(Case.status_category.in_(f.status_category))
    if f.channel:
        query = query.where(Case.channel.in_(f.channel))
    if f.priority:
        query = query.where(Case.priority.in_([case_fields.priority_rank(p) for p in f.priority]))
    if f.assignee:
        if f.assignee == "none":
            query = query.where(Case.assignee_id.is_(None))
        elif f.assignee == "me":
            query = query.where(Case.assignee_id == me)
        elif f.assignee.isdigit():
            query = query.where(Case.assignee_id == int(f.assignee))
        else:
            sub = select(User.id).where(User.email == f.assignee.lower()).scalar_subquery()
            query = query.where(Case.assignee_id == sub)
    if f.team:
        if f.team == "none":
            query = query.where(Case.team_id.is_(None))
        else:
            query = query.where(
                Case.team_id == select(Team.id).where(Team.name == f.team).scalar_subquery()
            )
    if f.tag:
        query = query.where(
            Case.number.in_(select(CaseTag.case_number).where(CaseTag.tag == f.tag.lower()))
        )
    if f.category:
        query = query.where(Case.category == f.category)
    if f.customer_id is not None:
        query = query.where(Case.customer_id == f.customer_id)
    if f.q:
        # An exact ticket ID or e-mail selects that case or customer; other text is a
        # full-text match over the case, its messages and its customer (services.search).
        condition = text_condition if text_condition is not None else search.case_condition(f.q)
        if condition is not None:
            query = query.where(condition)
    return query


def list_cases(
    db: Database,
    f: CaseFilter,
    *,
    sort: str = "-created",
    cursor: str | None = None,
    limit: int = 50,
    me: int | None = None,
) -> Page:
    key = sort.lstrip("-")
    if key not in SORTS:
        raise InvalidInput(
            f"sort must be one of {', '.join(sorted(SORTS))}, optionally with '-'", field="sort"
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    column = SORTS[key]
    descending = sort.startswith("-")
    order = [column.desc(), Case.number.desc()] if descending else [column, Case.number]
    if column is Case.number:
        order = order[:1]
    condition = search.queue_condition(db, f.q) if f.q else None
    query = (
        _filtered(select(Case), f, me=me, text_condition=condition)
        .order_by(*order)
        .limit(limit + 1)
    )
    if cursor:
        value, number = _decode(cursor, sort)
        keys = tuple_(column, Case.number) if column is not Case.number else None
        if keys is None:
            query = query.where(Case.number < number if descending else Case.number > number)
        else:
            query = query.where(
                keys < tuple_(value, number) if descending else keys > tuple_(value, number)
            )
    with db.read() as s:
        if db.is_postgresql:
            # psycopg prepares a statement after a few runs, and PostgreSQL then tries a generic
            # plan; for some filter combinations (tag + status category) it is 10x slower than
            # the plan for the actual values. Plan each queue page for its values.
            s.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        rows = list(s.scalars(query).unique())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = _encode(sort, [getattr(last, column.key), last.number])
    return Page(rows, next_cursor)
