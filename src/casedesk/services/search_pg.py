"""PostgreSQL search plans that stay fast for rare and for common words alike.

The planner cannot estimate prefix queries (``word:*``) and guesses a few hundred matches, so
"newest matches first" is planned as a backward walk of the primary key that checks every
row: instant for a common word, a scan of the whole table for a rare one. Instead each source
first looks at the newest few thousand cases, which answers for a common word; otherwise each
source is read through its GIN index with a cap: fewer matches than the cap are the complete
answer (sorted here); reaching the cap proves the word is common enough for the backward walk
to find the newest matches within a few thousand rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select, text
from sqlalchemy.orm import Session

from casedesk.db.tables import Case, Customer, Message

CAP = 2000
PROBE = 2000  # newest cases looked at first
_CAPPED = {
    "case": "SELECT number FROM cases WHERE search_vector @@ to_tsquery('english', :fq) LIMIT :cap",
    "message": "SELECT case_number FROM messages "
    "WHERE search_vector @@ to_tsquery('english', :fq) LIMIT :cap",
    "customer": "SELECT id FROM customers WHERE search_vector @@ to_tsquery('simple', :fq) "
    "LIMIT :cap",
}
_NEWEST = {
    "case": "SELECT number FROM cases WHERE search_vector @@ to_tsquery('english', :fq) "
    "ORDER BY number DESC LIMIT :lim",
    "message": "SELECT DISTINCT case_number FROM messages "
    "WHERE search_vector @@ to_tsquery('english', :fq) ORDER BY case_number DESC LIMIT :lim",
    "customer": "SELECT c.number FROM cases c JOIN customers cu ON cu.id = c.customer_id "
    "WHERE cu.search_vector @@ to_tsquery('simple', :fq) ORDER BY c.number DESC LIMIT :lim",
}


_PROBE = {
    "case": "SELECT number FROM cases WHERE number > :floor "
    "AND search_vector @@ to_tsquery('english', :fq) ORDER BY number DESC LIMIT :lim",
    "message": "SELECT DISTINCT case_number FROM messages WHERE case_number > :floor "
    "AND search_vector @@ to_tsquery('english', :fq) ORDER BY case_number DESC LIMIT :lim",
    "customer": "SELECT c.number FROM cases c JOIN customers cu ON cu.id = c.customer_id "
    "WHERE c.number > :floor AND cu.search_vector @@ to_tsquery('simple', :fq) "
    "ORDER BY c.number DESC LIMIT :lim",
}


def _probe(s: Session, fq: str, limit: int) -> dict[str, set[int]] | None:
    """The newest matches among the newest ``PROBE`` cases, when every source found ``limit``
    there (a common word: the answer, at the cost of reading a few thousand rows); else None."""
    top = s.execute(text("SELECT max(number) FROM cases")).scalar() or 0
    params = {"fq": fq, "lim": limit, "floor": top - PROBE}
    out = {}
    for source, sql in _PROBE.items():
        out[source] = set(s.execute(text(sql), params).scalars())
    # Any match outside the window is older than every match in it, so once the window holds
    # ``limit`` matches the newest ``limit`` overall are among each source's newest ``limit``.
    found = set().union(*out.values())
    return out if len(found) >= limit else None


def _capped(s: Session, source: str, fq: str) -> list[int] | None:
    """Every match of ``source`` (customer ids for customers), or None past the cap. The
    planner is told to use the GIN index: guessing a prefix query matches a fifth of the rows,
    it would scan the table instead, reading tens of thousands of rows for a rarer word."""
    s.execute(text("SET LOCAL enable_seqscan = off"))
    s.execute(text("SET LOCAL enable_indexscan = off"))
    try:
        found = list(s.execute(text(_CAPPED[source]), {"fq": fq, "cap": CAP}).scalars())
    finally:
        s.execute(text("SET LOCAL enable_seqscan = on"))
        s.execute(text("SET LOCAL enable_indexscan = on"))
    return None if len(found) >= CAP else found


def _cases_of(s: Session, customer_ids: list[int], limit: int) -> set[int]:
    if not customer_ids:
        return set()
    query = (
        select(Case.number)
        .where(Case.customer_id.in_(customer_ids))
        .order_by(Case.number.desc())
        .limit(limit)
    )
    return set(s.execute(query).scalars())


def newest(s: Session, fq: str, limit: int) -> dict[str, set[int]]:
    """The newest ``limit`` matching case numbers of each source (see the module docstring),
    after a cheap look at the newest cases, which answers for common words."""
    probed = _probe(s, fq, limit)
    if probed is not None:
        return probed
    out: dict[str, set[int]] = {}
    for source in ("case", "message", "customer"):
        found = _capped(s, source, fq)
        if found is None:
            out[source] = set(s.execute(text(_NEWEST[source]), {"fq": fq, "lim": limit}).scalars())
        elif source == "customer":
            out[source] = _cases_of(s, found, limit)
        else:
            out[source] = set(sorted(set(found), reverse=True)[:limit])
    return out


def all_matches(s: Session, fq: str) -> set[int] | None:
    """Every matching case number when there are fewer than the cap, else None (also when
    the newest cases alone hold a page of matches: then the word is common)."""
    if _probe(s, fq, 60) is not None:
        return None
    numbers: set[int] = set()
    for source in ("case", "message", "customer"):
        found = _capped(s, source, fq)
        if found is None:
            return None
        if source == "customer":
            found = list(_cases_of(s, found, CAP))
        numbers.update(found)
        if len(numbers) >= CAP:
            return None
    return numbers


def dense_condition(fq: str) -> ColumnElement[bool]:
    """Row-by-row match for common words: the queue walks its index order and stops early."""

    def match(sql: str) -> Any:
        return text(sql).bindparams(fq=fq)

    return or_(
        match("cases.search_vector @@ to_tsquery('english', :fq)"),
        exists().where(
            Message.case_number == Case.number,
            match("messages.search_vector @@ to_tsquery('english', :fq)"),
        ),
        exists().where(
            Customer.id == Case.customer_id,
            match("customers.search_vector @@ to_tsquery('simple', :fq)"),
        ),
    )
