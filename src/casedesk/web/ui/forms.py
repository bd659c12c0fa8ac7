"""Turning submitted forms and query strings into the values services take.

Browsers send strings only; here they become filters, tag lists, typed custom-field values
and call details, with the same error messages the API gives for the same mistakes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from starlette.datastructures import FormData, ImmutableMultiDict, UploadFile

from casedesk.config import AppConfig, FieldDefinition
from casedesk.domain.errors import InvalidInput
from casedesk.services.case_queries import CaseFilter
from casedesk.services.messages import NewAttachment
from casedesk.web.uploads import read_uploads

UNSOLVED = ("new", "open", "pending")
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_UPLOADS = 10


async def form_data(request: Request) -> FormData:
    """The submitted form (parsed once; FastAPI and the CSRF check share it)."""
    return await request.form()


def text(form: Mapping[str, Any], name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value.strip() if isinstance(value, str) else default


def optional(form: Mapping[str, Any], name: str) -> str | None:
    return text(form, name) or None


def values(form: ImmutableMultiDict[str, Any], name: str) -> list[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


# -- the queue's filters ---------------------------------------------------------------------


@dataclass
class QueueQuery:
    """The queue page's query string, understood."""

    status: list[str] = field(default_factory=list)  # ids, or "unsolved" / "any"
    channel: str = ""
    priority: str = ""
    team: str = ""
    assignee: str = ""
    category: str = ""
    tag: str = ""
    sla: str = ""
    q: str = ""
    sort: str = ""
    customer_id: str = ""
    cursor: str = ""
    page: int = 1
    is_default: bool = False

    def statuses(self, config: AppConfig) -> list[str]:
        """Status ids to filter on; ``[]`` means any status."""
        wf = config.lifecycle
        if not self.status or "any" in self.status:
            return []
        out: list[str] = []
        for s in self.status:
            if s == "unsolved":
                out += wf.ids_in(*UNSOLVED)
            elif wf.has_status(s):
                out.append(s)
        return out or ["__none__"]

    def case_filter(self, config: AppConfig, *, customer_id: int | None = None) -> CaseFilter:
        return CaseFilter(
            status=self.statuses(config),
            channel=[self.channel] if self.channel else [],
            priority=[self.priority] if self.priority else [],
            assignee=self.assignee or None,
            team=self.team or None,
            tag=self.tag or None,
            category=self.category or None,
            customer_id=customer_id
            if customer_id is not None
            else (int(self.customer_id) if self.customer_id.isdigit() else None),
            q=self.q or None,
        )

    def params(self, **override: Any) -> list[tuple[str, str]]:
        """The filter as query parameters (without the cursor unless given)."""
        data: dict[str, Any] = {
            "status": self.status,
            "channel": self.channel,
            "priority": self.priority,
            "team": self.team,
            "assignee": self.assignee,
            "category": self.category,
            "tag": self.tag,
            "sla": self.sla,
            "q": self.q,
            "customer_id": self.customer_id,
            "sort": self.sort,
        }
        data.update(override)
        out: list[tuple[str, str]] = []
        for key, value in data.items():
            for v in value if isinstance(value, list) else [value]:
                if v not in ("", None):
                    out.append((key, str(v)))
        return out

    def url(self, **override: Any) -> str:
        query = urlencode(self.params(**override))
        return f"/console?{query}" if query else "/console?status=any"


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
)


def queue_query(params: ImmutableMultiDict[str, str]) -> QueueQuery:
    if not any(params.get(k) for k in FILTER_KEYS):
        query = QueueQuery(status=["unsolved"], is_default=True)
    else:
        query = QueueQuery(status=values(params, "status"))
    for name in FILTER_KEYS[1:]:
        setattr(query, name, text(params, name)[:200])
    query.sort = text(params, "sort")
    query.cursor = text(params, "cursor")
    page = text(params, "p")
    query.page = int(page) if page.isdigit() and 0 < int(page) < 10**6 else 1
    return query


# -- case fields -------------------------------------------------------------------------------


def tags(raw: str) -> list[str]:
    return [t for t in (p.strip() for p in raw.replace("\n", ",").split(",")) if t]


def custom_value(definition: FieldDefinition, raw: str | None) -> Any:
    """A typed value for a custom field from its form input; ``None`` clears it."""
    if definition.type == "boolean":
        return raw in ("on", "true", "1", "yes")
    if raw is None or raw.strip() == "":
        return None
    raw = raw.strip()
    try:
        if definition.type == "integer":
            return int(raw)
        if definition.type == "number":
            return float(raw)
    except ValueError:
        raise InvalidInput(
            f"custom field '{definition.id}' must be a {definition.type}, not '{raw}'",
            field=f"custom_fields.{definition.id}",
        ) from None
    return raw


def custom_fields(
    config: AppConfig, form: Mapping[str, Any], *, only_changed: bool = False
) -> dict[str, Any]:
    """Custom-field values from inputs ``cf_<id>``; with ``only_changed`` just those whose
    value differs from the hidden ``orig_cf_<id>`` rendered with the form."""
    out: dict[str, Any] = {}
    for d in config.cases.fields:
        name = f"cf_{d.id}"
        raw = form.get(name)
        raw = raw if isinstance(raw, str) else None
        if d.type == "boolean":
            current = "on" if raw is not None else ""
        elif name not in form:
            continue
        else:
            current = (raw or "").strip()
        if only_changed and current == text(form, f"orig_{name}"):
            continue
        out[d.id] = custom_value(d, raw)
    return out


async def attachments(form: FormData) -> list[NewAttachment]:
    """Uploaded files of a reply or note, within the size limits."""
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
    return await read_uploads(files, max_files=MAX_UPLOADS, max_bytes=MAX_UPLOAD_BYTES)


# -- a phone call logged by hand ---------------------------------------------------------------


@dataclass(frozen=True)
class CallDetails:
    number: str
    direction: str
    duration_seconds: int | None
    notes: str

    def as_note(self) -> str:
        lines = [
            f"Phone call ({self.direction}) {'from' if self.direction == 'inbound' else 'to'} "
            f"{self.number or 'an unknown number'}"
        ]
        if self.duration_seconds is not None:
            minutes, seconds = divmod(self.duration_seconds, 60)
            lines.append(f"Duration: {minutes}m {seconds:02d}s")
        if self.notes:
            lines += ["", self.notes]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "direction": self.direction,
            "duration_seconds": self.duration_seconds,
            "notes": self.notes,
        }


def parse_duration(raw: str) -> int | None:
    """``4:30``, ``270`` (seconds) or ``4m 30s`` as seconds; empty as ``None``."""
    raw = raw.strip().lower()
    if not raw:
        return None
    try:
        if ":" in raw:
            parts = [int(p) for p in raw.split(":")]
            total = 0
            for p in parts:
                total = total * 60 + p
            return total
        if raw.isdigit():
            return int(raw)
        total = 0
        for chunk in raw.replace("min", "m").replace("sec", "s").split():
            unit = chunk[-1]
            total += int(chunk[:-1]) * {"h": 3600, "m": 60, "s": 1}[unit]
        return total
    except (ValueError, KeyError):
        raise InvalidInput(
            f"call duration '{raw}' is not a duration; write e.g. 4:30 or 270", field="duration"
        ) from None


def call_details(form: Mapping[str, Any]) -> CallDetails:
    direction = text(form, "call_direction", "inbound")
    if direction not in ("inbound", "outbound"):
        raise InvalidInput("call direction must be inbound or outbound", field="call_direction")
    return CallDetails(
        number=text(form, "call_number")[:40],
        direction=direction,
        duration_seconds=parse_duration(text(form, "call_duration")),
        notes=text(form, "call_notes")[:20_000],
    )


def first(items: Sequence[str], default: str = "") -> str:
    return items[0] if items else default
