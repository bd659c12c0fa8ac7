"""Full-text search over case subjects and descriptions, message bodies (replies and internal
notes) and customer names and e-mails, plus the exact jumps: a ticket ID opens the case, an
e-mail address opens the customer.

The indexes live in the database (migration 0006) and follow every write in its transaction:
PostgreSQL ``search_vector`` columns with GIN indexes, SQLite FTS5 tables kept by triggers.
Every query term is matched as a prefix and all terms must match (``redem fail`` finds
"Redemption failing"); English stemming applies to case and message text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    column,
    false,
    select,
    table,
    text,
    union,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.types import Boolean

from casedesk.config import AppConfig
from casedesk.db.session import Database
from casedesk.db.tables import Case, Customer, Message
from casedesk.domain.ticket_ids import MAX_NUMBER, parse_ticket_id
from casedesk.services import search_pg
from casedesk.services.case_rows import ticket_id

MAX_TERMS = 8
# The SQLite FTS5 tables of migration 0006 (their rowid is the indexed row's key).
CASES_FTS = table("cases_fts", column("rowid"))
MESSAGES_FTS = table("messages_fts", column("rowid"))
CUSTOMERS_FTS = table("customers_fts", column("rowid"))
# Letters and digits, split where the FTS tokenizers split too (``_``, ``-``, ``'``), so every
# term is one token: FTS5 with detail=none has no phrases.
_TERM = re.compile(r"[^\W_]+", re.UNICODE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def terms(q: str) -> list[str]:
    """The words of a query, lower-cased, at most ``MAX_TERMS`` (the rest is ignored)."""
    return [t.lower() for t in _TERM.findall(q)][:MAX_TERMS]


def is_email(q: str) -> bool:
    return bool(_EMAIL.match(q.strip()))


def _pg_query(words: list[str]) -> str:
    # Terms are letters and digits only, so nothing in them is tsquery syntax.
    return " & ".join(f"{w}:*" for w in words)


def _fts5_query(words: list[str]) -> str:
    return " ".join(f'"{w}"*' for w in words)


def matching_case_numbers(dialect: str, q: str) -> Select[Any] | None:
    """A SELECT of the numbers of cases whose text, messages or customer match ``q`` (None when
    ``q`` has no words); used as ``Case.number IN (...)`` by the queue's ``q`` filter."""
    words = terms(q)
    if not words:
        return None
    if dialect == "postgresql":
        return union(
            select(Case.number).where(text("cases.search_vector @@ to_tsquery('english', :fq)")),
            select(Message.case_number).where(
                text("messages.search_vector @@ to_tsquery('english', :fq)")
            ),
            select(Case.number)
            .join(Customer, Customer.id == Case.customer_id)
            .where(text("customers.search_vector @@ to_tsquery('simple', :fq)")),
        ).params(fq=_pg_query(words))  # type: ignore[return-value]
    match = _fts5_query(words)
    return union(
        select(CASES_FTS.c.rowid.label("number")).where(text("cases_fts MATCH :fm")),
        select(Message.case_number)
        .join(MESSAGES_FTS, MESSAGES_FTS.c.rowid == Message.id)
        .where(text("messages_fts MATCH :fm")),
        select(Case.number)
        .join(CUSTOMERS_FTS, CUSTOMERS_FTS.c.rowid == Case.customer_id)
        .where(text("customers_fts MATCH :fm")),
    ).params(fm=match)  # type: ignore[return-value]


class CaseTextMatch(ColumnElement[bool]):
    """``cases.number IN (cases matching q)``, rendered for the dialect it is compiled for, so
    query builders that do not know the engine (the queue filters) can use it."""

    inherit_cache = False
    type = Boolean()

    def __init__(self, q: str) -> None:
        self.q = q


@compiles(CaseTextMatch, "postgresql")
def _match_pg(element: CaseTextMatch, compiler: Any, **kw: Any) -> str:
    return _render_match(element, compiler, "postgresql", **kw)


@compiles(CaseTextMatch)
def _match_default(element: CaseTextMatch, compiler: Any, **kw: Any) -> str:
    return _render_match(element, compiler, "sqlite", **kw)


def _render_match(element: CaseTextMatch, compiler: Any, dialect: str, **kw: Any) -> str:
    numbers = matching_case_numbers(dialect, element.q)
    if numbers is None:
        return "1 = 1"
    return str(compiler.process(Case.number.in_(numbers), **kw))


# Without the configured prefix: letters, a dash and at least three digits ("CASE-000123"),
# so words like "covid-19" stay text.
_ANY_TICKET_ID = re.compile(r"\s*[A-Za-z]{1,16}-(?=[0-9]{3})0*([1-9][0-9]{0,18})\s*")


def ticket_number(q: str, prefix: str | None = None) -> int | None:
    """The number of ``q`` if it is a ticket ID: with ``prefix`` exactly that prefix, without
    it any ``PREFIX-digits`` (the queue filter does not know the configured prefix)."""
    if prefix is not None:
        return parse_ticket_id(q, prefix=prefix)
    match = _ANY_TICKET_ID.fullmatch(q)
    return int(match.group(1)) if match and int(match.group(1)) <= MAX_NUMBER else None


def case_condition(q: str, prefix: str | None = None) -> ColumnElement[bool] | None:
    """The queue's ``q`` filter: an exact ticket ID selects that case, an exact e-mail the
    customer's cases, anything else is a full-text match over the case, its messages and its
    customer. ``None`` when ``q`` holds nothing to search for."""
    q = q.strip()
    number = ticket_number(q, prefix)
    if number is not None:
        return Case.number == number
    if is_email(q):
        owner = select(Customer.id).where(Customer.email == q.lower()).scalar_subquery()
        return Case.customer_id == owner
    if not terms(q):
        return None
    return CaseTextMatch(q)


def queue_condition(db: Database, q: str) -> ColumnElement[bool] | None:
    """``case_condition`` with the full-text part planned for this database's engine: on
    PostgreSQL the matches themselves when few, else a row-by-row test (see ``search_pg``)."""
    condition = case_condition(q)
    if not isinstance(condition, CaseTextMatch):
        return condition
    words = terms(q)
    with db.read() as s:
        if db.is_postgresql:
            numbers = search_pg.all_matches(s, _pg_query(words))
        else:
            numbers = _fts5_all_matches(s, _fts5_query(words))
    if numbers is None:  # a common word: test row by row as the queue walks its order
        return search_pg.dense_condition(_pg_query(words)) if db.is_postgresql else condition
    return Case.number.in_(sorted(numbers)) if numbers else false()


def _fts5_all_matches(s: Session, fm: str) -> set[int] | None:
    """Every matching case number on SQLite when fewer than the cap, else None."""
    cap = search_pg.CAP
    numbers: set[int] = set()
    for sql, then in (
        ("SELECT rowid FROM cases_fts WHERE cases_fts MATCH :fm LIMIT :cap", None),
        (
            "SELECT rowid FROM messages_fts WHERE messages_fts MATCH :fm LIMIT :cap",
            select(Message.case_number).distinct().where(Message.id.in_(bindparam("ids"))),
        ),
        (
            "SELECT rowid FROM customers_fts WHERE customers_fts MATCH :fm LIMIT :cap",
            select(Case.number).where(Case.customer_id.in_(bindparam("ids"))).limit(cap),
        ),
    ):
        found = list(s.execute(text(sql), {"fm": fm, "cap": cap}).scalars())
        if len(found) >= cap:
            return None
        if then is not None and found:
            found = list(s.execute(then.params(ids=found)).scalars())
        numbers.update(found)
    return numbers if len(numbers) < cap else None


@dataclass(frozen=True)
class Jump:
    """Where an exact ticket ID or e-mail address leads."""

    kind: str  # "case" | "customer"
    id: str
    label: str
    url: str
    console_url: str


@dataclass(frozen=True)
class Hit:
    number: int
    ticket_id: str
    subject: str
    status: str
    priority: int
    channel: str
    customer: str | None
    updated_at: datetime
    matched: list[str]
    snippet: str


@dataclass
class SearchResult:
    query: str
    jump: Jump | None = None
    hits: list[Hit] = field(default_factory=list)


def jump(db: Database, config: AppConfig, q: str) -> Jump | None:
    """The case of an exact ticket ID, or the customer of an exact e-mail address."""
    q = q.strip()
    number = parse_ticket_id(q, prefix=config.tickets.prefix)
    with db.read() as s:
        if number is not None:
            row = s.execute(select(Case.number, Case.subject).where(Case.number == number)).first()
            if row is not None:
                tid = ticket_id(config, row.number)
                return Jump(
                    "case", tid, row.subject, f"/api/v1/cases/{tid}", f"/console/cases/{tid}"
                )
        if is_email(q):
            found = s.execute(
                select(Customer.id, Customer.name, Customer.email).where(
                    Customer.email == q.lower()
                )
            ).first()
            if found is not None:
                return Jump(
                    "customer",
                    str(found.id),
                    found.name or found.email,
                    f"/api/v1/cases?customer_id={found.id}",
                    f"/console?customer_id={found.id}",
                )
    return None


def search(db: Database, config: AppConfig, q: str, *, limit: int = 20) -> SearchResult:
    """An exact jump when ``q`` is a ticket ID or a known e-mail; otherwise the most recent
    cases matching every word, with where they matched and a snippet."""
    result = SearchResult(q)
    result.jump = jump(db, config, q)
    if result.jump is not None:
        return result
    words = terms(q)
    if not words:
        return result
    with db.read() as s:
        sources = _top_numbers(s, db.dialect, words, limit)
        numbers = sorted({n for found in sources.values() for n in found}, reverse=True)[:limit]
        if not numbers:
            return result
        rows = s.execute(
            select(
                Case.number,
                Case.subject,
                Case.description,
                Case.status,
                Case.priority,
                Case.channel,
                Case.updated_at,
                Customer.name.label("customer"),
            )
            .outerjoin(Customer, Customer.id == Case.customer_id)
            .where(Case.number.in_(numbers))
            .order_by(Case.number.desc())
        ).all()
        bodies = _message_bodies(s, sources["message"] & set(numbers), db.dialect, words)
    for r in rows:
        matched = [name for name, found in sources.items() if r.number in found]
        text_ = r.subject if r.number in sources["case"] else bodies.get(r.number, r.subject)
        result.hits.append(
            Hit(
                number=r.number,
                ticket_id=ticket_id(config, r.number),
                subject=r.subject,
                status=r.status,
                priority=r.priority,
                channel=r.channel,
                customer=r.customer,
                updated_at=r.updated_at,
                matched=matched,
                snippet=snippet(
                    f"{r.subject} — {r.description}" if "case" in matched else text_, words
                ),
            )
        )
    return result


def _top_numbers(s: Session, dialect: str, words: list[str], limit: int) -> dict[str, set[int]]:
    """The newest ``limit`` matching case numbers of each source; the newest ``limit`` overall
    are among their union, so no source is read past its first ``limit`` hits."""
    if dialect == "postgresql":
        return search_pg.newest(s, _pg_query(words), limit)
    # FTS5 walks its doclists in rowid order, so "newest first" is cheap for any word.
    params = {"fm": _fts5_query(words), "lim": limit}
    sql = {
        "case": "SELECT rowid FROM cases_fts WHERE cases_fts MATCH :fm "
        "ORDER BY rowid DESC LIMIT :lim",
        # the cases of the newest matching messages (message ids grow with case numbers)
        "message": "SELECT DISTINCT case_number FROM messages WHERE id IN (SELECT rowid "
        "FROM messages_fts WHERE messages_fts MATCH :fm ORDER BY rowid DESC LIMIT :lim * 3) "
        "ORDER BY case_number DESC LIMIT :lim",
        "customer": "SELECT c.number FROM cases c WHERE c.customer_id IN (SELECT rowid FROM "
        "customers_fts WHERE customers_fts MATCH :fm) ORDER BY c.number DESC LIMIT :lim",
    }
    return {name: set(s.execute(text(query), params).scalars()) for name, query in sql.items()}


def _message_bodies(
    s: Session, numbers: set[int], dialect: str, words: list[str]
) -> dict[int, str]:
    """For snippets: the newest message of each case that contains a word of the query (or
    its newest message). Read through the case index and checked here: asking the full-text
    index instead would make the planner read every match of a common word."""
    if not numbers:
        return {}
    rows = s.execute(
        select(Message.case_number, Message.body)
        .where(Message.case_number.in_(numbers))
        .order_by(Message.id.desc())
        .limit(50 * len(numbers))
    ).all()
    out: dict[int, str] = {}
    for number, body in rows:
        lower = body.lower()
        if any(w in lower for w in words):
            out.setdefault(number, body)
    for number, body in rows:
        out.setdefault(number, body)
    return out


def snippet(text_: str, words: list[str], width: int = 160) -> str:
    """About ``width`` characters of ``text_`` around the first word of the query found."""
    flat = " ".join(text_.split())
    lower = flat.lower()
    hits = [i for i in (lower.find(w) for w in words) if i >= 0]
    start = max(0, min(hits) - width // 4) if hits else 0
    piece = flat[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")
