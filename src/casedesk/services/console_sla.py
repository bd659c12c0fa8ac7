"""The queue by SLA: cases ordered by their next due SLA clock, filtered by SLA state, and the
SLA badge of each case on a page. Read-only queries over ``sla_clocks`` (the SLA ledger).

A case's place in the SLA order is its earliest *running* clock (first response, next
response or resolution, whichever is due first). The order walks the partial index
``ix_sla_clocks_console_due`` (running clocks by due time) and keeps only each case's earliest
clock, so a page reads about a page of index entries at any number of cases. Cases
with no running clock (paused, met, closed, no policy) follow, newest first. The cursor says
which of the two parts it continues.

SLA state of a case: ``breached`` when its earliest running clock is past due (or recorded
breached), ``warning`` when a warning checkpoint of it has fired, ``ok`` otherwise; cases
whose clocks are all paused show ``paused``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, exists, func, or_, select, tuple_

from casedesk.db.session import Database
from casedesk.db.sla_tables import SlaClock
from casedesk.db.tables import Case
from casedesk.domain.errors import InvalidInput
from casedesk.services import case_queries
from casedesk.services.case_queries import CaseFilter, Page

RUNNING, PAUSED = "running", "paused"
# The queue's own filters, applied the same way here as on every other sort order.
_filtered = case_queries._filtered
STATES = ("ok", "warning", "breached")


@dataclass(frozen=True)
class CaseSla:
    state: str  # ok | warning | breached | paused
    due_at: datetime | None


def _warned() -> Any:
    return cast(SlaClock.fired, String).like('%"warn:%')


def _state_clause(state: str, now: datetime) -> Any:
    breached = or_(SlaClock.due_at <= now, SlaClock.breached_at.is_not(None))
    if state == "breached":
        return breached
    if state == "warning":
        return and_(~breached, _warned())
    if state == "ok":
        return and_(~breached, ~_warned())
    raise InvalidInput(f"SLA state must be one of {', '.join(STATES)}", field="sla")


def _encode(part: int, due: datetime | None, number: int) -> str:
    raw = json.dumps({"s": "sla", "p": part, "d": due.isoformat() if due else None, "n": number})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int, datetime | None, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        assert data["s"] == "sla" and data["p"] in (1, 2)
        due = datetime.fromisoformat(data["d"]) if data["d"] else None
        return int(data["p"]), due, int(data["n"])
    except Exception as exc:
        raise InvalidInput(
            "the cursor is not valid for this sort order; start again without it", field="cursor"
        ) from exc


def queue_page(
    db: Database,
    f: CaseFilter,
    *,
    sla_state: str | None,
    cursor: str | None,
    limit: int,
    me: int | None,
    now: datetime,
) -> Page:
    """Cases by next SLA due time, then (unless filtering by SLA state) the rest, newest first."""
    part, due, number = _decode(cursor) if cursor else (1, None, 0)
    items: list[Case] = []
    next_cursor = None
    if part == 1:
        after = (due, number) if cursor else None
        with db.read() as s:
            keys = _running_keys(s, f, me, sla_state, now, after, limit + 1)
            items = _cases(s, [k[0] for k in keys[:limit]])
        if len(keys) > limit:
            last = keys[limit - 1]
            return Page(items, _encode(1, last[1], last[0]))
        if sla_state:
            return Page(items, None)
        part, number = 2, 0
    rest = limit - len(items)
    running = exists().where(
        SlaClock.case_number == Case.number, SlaClock.state == RUNNING, SlaClock.due_at.is_not(None)
    )
    query = (
        _filtered(select(Case), f, me=me)
        .where(~running)
        .order_by(Case.number.desc())
        .limit(rest + 1)
    )
    if number:
        query = query.where(Case.number < number)
    with db.read() as s:
        more = list(s.scalars(query).unique())
    items += more[:rest]
    if len(more) > rest and items:
        next_cursor = _encode(2, None, items[-1].number)
    return Page(items, next_cursor)


def _keys_select() -> Any:  # typed loosely: case_queries filters a Select[Any]
    return select(SlaClock.case_number, SlaClock.due_at)


def _running_keys(
    s: Any,
    f: CaseFilter,
    me: int | None,
    sla_state: str | None,
    now: datetime,
    after: tuple[datetime | None, int] | None,
    want: int,
) -> list[tuple[int, datetime]]:
    """``(case number, due)`` of the next ``want`` cases in SLA order after ``after``.

    Walks the running clocks in due order with only the columns that decide it (an index-only
    scan of ``ix_sla_clocks_console_due``) and keeps a clock only when it is its case's
    earliest running one, checked for the few cases fetched, never for all open cases."""
    out: list[tuple[int, datetime]] = []
    seen: set[int] = set()
    batch = want
    while len(out) < want:
        query = (
            _filtered(_keys_select(), f, me=me)
            .select_from(SlaClock)
            .join(Case, SlaClock.case_number == Case.number)
            .where(SlaClock.state == RUNNING, SlaClock.due_at.is_not(None))
            .order_by(SlaClock.due_at, SlaClock.case_number)
            .limit(batch)
        )
        if sla_state:
            query = query.where(_state_clause(sla_state, now))
        if after is not None:
            query = query.where(tuple_(SlaClock.due_at, SlaClock.case_number) > tuple_(*after))
        rows = s.execute(query).all()
        if not rows:
            break
        earliest = dict(
            s.execute(
                select(SlaClock.case_number, func.min(SlaClock.due_at))
                .where(
                    SlaClock.case_number.in_({r[0] for r in rows}),
                    SlaClock.state == RUNNING,
                    SlaClock.due_at.is_not(None),
                )
                .group_by(SlaClock.case_number)
            ).all()
        )
        for number, due in rows:
            if number not in seen and earliest.get(number) == due:
                seen.add(number)
                out.append((number, due))
                if len(out) == want:
                    break
        if len(rows) < batch:
            break
        after = (rows[-1][1], rows[-1][0])
        batch = min(batch * 2, 1000)
    return out


def _cases(s: Any, numbers: list[int]) -> list[Case]:
    if not numbers:
        return []
    found = {c.number: c for c in s.scalars(select(Case).where(Case.number.in_(numbers))).unique()}
    return [found[n] for n in numbers if n in found]


def badges(db: Database, numbers: Sequence[int], *, now: datetime) -> dict[int, CaseSla]:
    """The SLA state and next due time of each case on a page (one indexed read)."""
    if not numbers:
        return {}
    with db.read() as s:
        rows = s.execute(
            select(
                SlaClock.case_number,
                SlaClock.state,
                SlaClock.due_at,
                SlaClock.breached_at,
                cast(SlaClock.fired, String),
            ).where(SlaClock.case_number.in_(list(numbers)), SlaClock.state.in_((RUNNING, PAUSED)))
        ).all()
    out: dict[int, CaseSla] = {}
    by_case: dict[int, list[Any]] = {}
    for row in rows:
        by_case.setdefault(row[0], []).append(row)
    for number, clocks in by_case.items():
        running = [c for c in clocks if c[1] == RUNNING and c[2] is not None]
        if not running:
            out[number] = CaseSla("paused", None)
            continue
        first = min(running, key=lambda c: c[2])
        if first[2] <= now or any(c[3] is not None for c in running):
            state = "breached"
        elif '"warn:' in (first[4] or ""):
            state = "warning"
        else:
            state = "ok"
        out[number] = CaseSla(state, first[2])
    return out
