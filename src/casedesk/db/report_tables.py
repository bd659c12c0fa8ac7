"""Tables that reports keep: status changes as plain columns, clusters of similar cases,
working-time spans of calendars and the schedule of the worker's report jobs.

Search needs no table here: migration 0006 adds the full-text indexes (PostgreSQL generated
``search_vector`` columns with GIN indexes, SQLite FTS5 tables kept by triggers) to the core
tables, so they follow every write in its own transaction.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casedesk.db.tables import Base, BigId, UTCDateTime

__all__ = [
    "Base",
    "CalendarSpan",
    "ReportCalendar",
    "ReportCluster",
    "ReportClusterCase",
    "ReportJob",
    "StatusChange",
]


class ReportJob(Base):
    """When a periodic report job last ran; a worker claims a run with a conditional UPDATE,
    so two workers never compute the same thing at once and an idle pass costs one query."""

    __tablename__ = "report_jobs"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_result: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")


class ReportCluster(Base):
    """A group of recent cases about the same thing, found by TF-IDF + k-means over subjects
    and descriptions ("47 cases this week about redemption failing after the catalogue sync")."""

    __tablename__ = "report_clusters"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    label: Mapped[str] = mapped_column(String(300))  # the subject nearest the centre
    terms: Mapped[list[str]] = mapped_column(JSON)  # the heaviest terms of the centre
    size: Mapped[int] = mapped_column(Integer)  # cases in the window
    previous_size: Mapped[int] = mapped_column(Integer)  # similar cases the window before
    top_category: Mapped[str | None] = mapped_column(String(100))
    top_channel: Mapped[str | None] = mapped_column(String(20))
    cohesion: Mapped[float] = mapped_column(default=0.0)  # mean cosine similarity to the centre
    sample: Mapped[list[int]] = mapped_column(JSON)  # case numbers nearest the centre


class ReportClusterCase(Base):
    __tablename__ = "report_cluster_cases"
    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("report_clusters.id", ondelete="CASCADE"), primary_key=True
    )
    case_number: Mapped[int] = mapped_column(BigId, primary_key=True, index=True)


class StatusChange(Base):
    """Every ``case.status_changed`` audit event as plain columns with the stretch it ends,
    written by a database trigger in the event's own transaction (migration 0006): the
    bottleneck report reads these instead of parsing each event's JSON and pairing events up.
    A report cache, not evidence: the audit trail is."""

    __tablename__ = "report_status_changes"
    case_number: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    from_status: Mapped[str | None] = mapped_column(String(40))
    to_status: Mapped[str | None] = mapped_column(String(40))
    reason_code: Mapped[str | None] = mapped_column(String(60))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the ``from`` stretch began
    from_reason: Mapped[str | None] = mapped_column(String(60))  # its reason code, if any


class ReportCalendar(Base):
    """Which calendar definition (by fingerprint) the spans were built from, and which local
    days they cover."""

    __tablename__ = "report_calendars"
    calendar_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalendarSpan(Base):
    """One working interval of a calendar in Unix seconds, with the working seconds before it
    (``cum_s``): business time between two instants is then W(b) - W(a), two index lookups in
    SQL instead of a Python loop per case."""

    __tablename__ = "report_calendar_spans"
    calendar_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    start_s: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    end_s: Mapped[int] = mapped_column(BigInteger)
    cum_s: Mapped[int] = mapped_column(BigInteger)
