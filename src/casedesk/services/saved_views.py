"""Saved queue views: a user's named filters, stored as the queue page's query string.

Only the filter keys the queue understands are kept (never a cursor), so a saved view always
opens on its first page and an old view with an unknown key still opens.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from casedesk.db.session import Database
from casedesk.db.ui_tables import SavedView
from casedesk.domain.errors import InvalidInput, NotFound

FILTER_KEYS = (
    "status",
    "channel",
    "priority",
    "team",
    "assignee",
    "category",
    "tag",
    "sla",
    "q",
    "customer_id",
    "sort",
)
MAX_VIEWS = 50


def clean_query(query: str) -> str:
    """The filter part of a queue query string, in a stable order."""
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=False) if k in FILTER_KEYS]
    pairs.sort(key=lambda kv: (FILTER_KEYS.index(kv[0]), kv[1]))
    return urlencode(pairs)[:2000]


def list_views(db: Database, user_id: int) -> list[SavedView]:
    with db.read() as s:
        return list(
            s.scalars(
                select(SavedView).where(SavedView.user_id == user_id).order_by(SavedView.name)
            )
        )


def get_view(db: Database, user_id: int, view_id: int) -> SavedView:
    with db.read() as s:
        view = s.get(SavedView, view_id)
    if view is None or view.user_id != user_id:
        raise NotFound(f"no saved view {view_id}")
    return view


def save_view(db: Database, *, user_id: int, name: str, query: str, now: datetime) -> SavedView:
    """Create a view, or replace the filters of the user's view with the same name."""
    name = " ".join(name.split())[:100]
    if not name:
        raise InvalidInput("a saved view needs a name", field="name")
    query = clean_query(query)
    try:
        with db.write() as s:
            existing = s.scalar(
                select(SavedView).where(SavedView.user_id == user_id, SavedView.name == name)
            )
            if existing is not None:
                existing.query = query
                return existing
            count = len(s.scalars(select(SavedView.id).where(SavedView.user_id == user_id)).all())
            if count >= MAX_VIEWS:
                raise InvalidInput(
                    f"at most {MAX_VIEWS} saved views; delete one first", field="name"
                )
            view = SavedView(user_id=user_id, name=name, query=query, created_at=now)
            s.add(view)
            s.flush()
            return view
    except IntegrityError:  # the same name saved twice at once: the other one won
        with db.read() as s:
            winner = s.scalar(
                select(SavedView).where(SavedView.user_id == user_id, SavedView.name == name)
            )
        if winner is None:
            raise
        return winner


def delete_view(db: Database, *, user_id: int, view_id: int) -> None:
    with db.write() as s:
        result = s.execute(
            delete(SavedView).where(SavedView.id == view_id, SavedView.user_id == user_id)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFound(f"no saved view {view_id}")
