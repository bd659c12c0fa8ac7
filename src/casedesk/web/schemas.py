"""Request and response bodies of the REST API (separate from the table classes)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from casedesk.config import AppConfig
from casedesk.db.tables import Attachment, AuditEvent, Case, Customer, Message, User
from casedesk.domain import case_fields
from casedesk.services.case_rows import CaseSnapshot, ticket_id
from casedesk.services.customers import CustomerRecord


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerIn(_In):
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    external_ref: str | None = Field(default=None, max_length=100)


class CaseIn(_In):
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=100_000)
    channel: Literal["console", "email", "chat", "phone", "portal", "api"] = "api"
    customer: CustomerIn | None = None
    customer_id: int | None = None
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    category: str | None = Field(default=None, max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=50)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    team: str | None = None
    assignee: str | int | None = None


class CasePatch(_In):
    subject: str | None = Field(default=None, min_length=1, max_length=300)
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    category: str | None = None
    tags: list[str] | None = Field(default=None, max_length=50)
    custom_fields: dict[str, Any] | None = None
    team: str | None = None
    assignee: str | int | None = None


class TransitionIn(_In):
    to: str = Field(min_length=1, max_length=40)
    reason_code: str | None = Field(default=None, max_length=60)
    reason: str | None = Field(default=None, max_length=5000)
    resolution: str | None = Field(default=None, max_length=20_000)


class AttachmentIn(_In):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=255)
    content_base64: str = Field(
        max_length=14_000_000, description="The file's bytes, base64-encoded (at most 10 MiB)"
    )


class MessageIn(_In):
    body: str = Field(default="", max_length=100_000)
    visibility: Literal["public", "internal"] = "public"
    attachments: list[AttachmentIn] = Field(default=[], max_length=10)


class CustomerOut(BaseModel):
    id: int
    name: str
    email: str | None
    phone: str | None
    external_ref: str | None

    @classmethod
    def of(cls, c: Customer | CustomerRecord) -> CustomerOut:
        return cls(id=c.id, name=c.name, email=c.email, phone=c.phone, external_ref=c.external_ref)


class UserRef(BaseModel):
    id: int
    email: str
    name: str


class Hold(BaseModel):
    reason_code: str | None
    reason: str | None


class CaseOut(BaseModel):
    id: str = Field(description="The ticket ID, e.g. CASE-000123")
    number: int
    subject: str
    description: str
    channel: str
    status: str
    status_name: str
    status_category: str
    priority: str
    category: str | None
    tags: list[str]
    custom_fields: dict[str, Any]
    team: str | None
    assignee: UserRef | None
    customer: CustomerOut | None
    hold: Hold | None
    resolution: str | None
    reopen_count: int
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    last_customer_activity_at: datetime | None

    @classmethod
    def of(cls, case: Case | CaseSnapshot, config: AppConfig) -> CaseOut:
        wf = config.lifecycle
        status_name = wf.status(case.status).name if wf.has_status(case.status) else case.status
        return cls(
            id=ticket_id(config, case.number),
            number=case.number,
            subject=case.subject,
            description=case.description,
            channel=case.channel,
            status=case.status,
            status_name=status_name,
            status_category=case.status_category,
            priority=case_fields.priority_name(case.priority),
            category=case.category,
            tags=case.tags,
            custom_fields=case.custom_fields or {},
            team=case.team.name if case.team else None,
            assignee=UserRef(
                id=case.assignee.id, email=case.assignee.email, name=case.assignee.name
            )
            if case.assignee
            else None,
            customer=CustomerOut.of(case.customer) if case.customer else None,
            hold=Hold(reason_code=case.hold_reason_code, reason=case.hold_reason)
            if case.hold_reason_code
            else None,
            resolution=case.resolution,
            reopen_count=case.reopen_count,
            created_at=case.created_at,
            updated_at=case.updated_at,
            first_response_at=case.first_response_at,
            resolved_at=case.resolved_at,
            closed_at=case.closed_at,
            last_customer_activity_at=case.last_customer_activity_at,
        )


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    inline: bool = Field(description="Shown in the message body (an embedded image)")
    url: str = Field(description="GET it with the same token for the bytes")

    @classmethod
    def of(cls, a: Attachment) -> AttachmentOut:
        return cls(
            id=a.id,
            filename=a.filename,
            content_type=a.content_type,
            size=a.size,
            inline=bool(a.inline),
            url=f"/api/v1/attachments/{a.id}",
        )


class MessageOut(BaseModel):
    id: int
    visibility: str
    author_kind: str
    author_name: str
    channel: str
    body: str
    created_at: datetime
    attachments: list[AttachmentOut] = []

    @classmethod
    def of(cls, m: Message, files: Sequence[Attachment] = ()) -> MessageOut:
        return cls(
            id=m.id,
            visibility=m.visibility,
            author_kind=m.author_kind,
            author_name=m.author_name,
            channel=m.channel,
            body=m.body,
            created_at=m.created_at,
            attachments=[AttachmentOut.of(a) for a in files],
        )


class ResponseOut(BaseModel):
    id: str
    name: str
    visibility: str = Field(description="public (a reply) or internal (a note)")
    body: str = Field(description="With the placeholders filled for the case and the caller")


class CaseDetail(CaseOut):
    messages: list[MessageOut]
    allowed_transitions: list[str] = Field(
        description="Statuses the caller may move this case to now"
    )


class CasePage(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


class EventOut(BaseModel):
    id: int
    scope: str
    seq: int
    case_id: str | None
    action: str
    actor_kind: str
    actor_id: str | None
    actor_label: str
    origin: str
    data: dict[str, Any]
    occurred_at: datetime
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, e: AuditEvent, config: AppConfig) -> EventOut:
        return cls(
            id=e.id,
            scope=e.scope,
            seq=e.seq,
            case_id=ticket_id(config, e.case_number) if e.case_number else None,
            action=e.action,
            actor_kind=e.actor_kind,
            actor_id=e.actor_id,
            actor_label=e.actor_label,
            origin=e.origin,
            data=e.data,
            occurred_at=e.occurred_at,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


class UserIn(_In):
    email: str = Field(max_length=320)
    name: str = Field(min_length=1, max_length=200)
    role: Literal["admin", "lead", "agent"]
    team: str | None = None
    password: str | None = Field(default=None, min_length=10, max_length=200)


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    team: str | None
    active: bool

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls(
            id=u.id,
            email=u.email,
            name=u.name,
            role=u.role,
            team=u.team.name if u.team else None,
            active=u.active,
        )


class TeamIn(_In):
    name: str = Field(min_length=1, max_length=100)


class TeamOut(BaseModel):
    id: int
    name: str


class TokenIn(_In):
    label: str = Field(default="api", min_length=1, max_length=100)
    user: str | int | None = Field(default=None, description="Admins may issue for another user")


class TokenOut(BaseModel):
    id: int
    label: str
    hint: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="Shown once; store it now")


# -- SLA ledger and notifications (issue 4) ------------------------------------------------------
