"""Phone: Twilio voice status webhooks and calls logged by agents, each stored on a case with
its call log (``phone_calls``).

A Twilio call that ended (``completed``; also ``busy``/``no-answer``/``failed``/``canceled``
inbound calls unless ``[phone.twilio] missed_calls = false``) goes through
``services.intake.receive`` as a message from the caller (channel ``phone``, external id = the
CallSid): it joins the caller's newest unsolved case when they have one, else opens a case.
The call log row is written in the intake transaction. The same CallSid again creates nothing;
a later callback for it (a recording or transcription callback) only fills in the recording
link or transcript the log did not have yet.

An agent's call (API, console) is an internal note by the agent (or a public one, if asked)
plus its log row, on an existing case or on a new ``phone`` case, in one transaction.
Signature checking of the webhook is in ``phone_twilio``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casedesk.config_channels import phone_settings
from casedesk.db.contact_tables import PhoneCall
from casedesk.db.tables import Case, Customer, Message
from casedesk.domain.actors import Actor
from casedesk.domain.errors import InvalidInput, NotFound
from casedesk.services import case_rows, cases, intake
from casedesk.services.customers import CustomerInput, normalise_phone
from casedesk.services.messages import NewMessage, insert_message

if TYPE_CHECKING:
    from casedesk.context import Context

CHANNEL = "phone"
FINAL = ("completed", "busy", "no-answer", "failed", "canceled")
UNSOLVED = ("new", "open", "pending")


def e164(number: str, region: str | None) -> str | None:
    """The number in E.164, or ``None`` for withheld, SIP or otherwise unusable caller IDs."""
    if not number or not number.strip() or number.strip().lower().startswith(("client:", "sip:")):
        return None
    try:
        return normalise_phone(number, region)
    except InvalidInput:
        return None


def duration_text(seconds: int | None) -> str:
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


@dataclass(frozen=True)
class CallFacts:
    """One call, from whichever source, in plain values."""

    direction: str  # inbound | outbound
    number: str  # the customer's side as given
    status: str = "completed"
    from_number: str = ""
    to_number: str = ""
    duration_seconds: int | None = None
    recording_url: str | None = None
    transcript: str | None = None
    notes: str = ""
    call_sid: str | None = None
    caller_name: str | None = None

    @property
    def missed(self) -> bool:
        return self.status != "completed"

    def note(self, number: str | None) -> str:
        """The message text of the call."""
        who = number or self.number or "an unknown number"
        way = "from" if self.direction == "inbound" else "to"
        if self.missed:
            head = f"Missed {self.direction} call {way} {who} ({self.status})."
        else:
            length = duration_text(self.duration_seconds)
            head = f"Phone call ({self.direction}) {way} {who}" + (
                f", {length}." if length else "."
            )
        lines = [head]
        if self.recording_url:
            lines.append(f"Recording: {self.recording_url}")
        if self.notes:
            lines += ["", self.notes]
        if self.transcript:
            lines += ["", "Transcript:", self.transcript]
        return "\n".join(lines)


def _call_row(facts: CallFacts, number: str | None, **kw: Any) -> PhoneCall:
    return PhoneCall(
        call_sid=facts.call_sid,
        direction=facts.direction,
        number=(number or facts.number or "")[:40],
        from_number=facts.from_number[:40],
        to_number=facts.to_number[:40],
        status=facts.status[:20],
        duration_seconds=facts.duration_seconds,
        recording_url=facts.recording_url,
        transcript=facts.transcript,
        notes=facts.notes,
        **kw,
    )


# -- Twilio -------------------------------------------------------------------------------------


def twilio_facts(params: Mapping[str, str]) -> CallFacts:
    """A Twilio status callback's form fields as call facts (``InvalidInput`` without a
    CallSid)."""
    sid = params.get("CallSid", "").strip()
    if not sid or len(sid) > 64 or not sid.isalnum():
        raise InvalidInput("a Twilio callback needs a CallSid", field="CallSid")
    outbound = params.get("Direction", "inbound").lower().startswith("outbound")
    duration = params.get("CallDuration", "").strip()
    recording = params.get("RecordingUrl", "").strip()
    return CallFacts(
        direction="outbound" if outbound else "inbound",
        number=params.get("To" if outbound else "From", "").strip(),
        status=params.get("CallStatus", "").strip().lower() or "completed",
        from_number=params.get("From", "").strip(),
        to_number=params.get("To", "").strip(),
        duration_seconds=int(duration) if duration.isdigit() else None,
        recording_url=recording[:1000] if recording.startswith("https://") else None,
        transcript=params.get("TranscriptionText", "").strip()[:100_000] or None,
        call_sid=sid,
        caller_name=params.get("CallerName", "").strip()[:200] or None,
    )


@dataclass(frozen=True)
class CallResult:
    outcome: str  # created | threaded | followup | duplicate | updated | ignored
    case_number: int | None = None
    call_id: int | None = None
    detail: str = ""


def receive_twilio(ctx: Context, facts: CallFacts) -> CallResult:
    """Store a finished Twilio call once (see the module docstring)."""
    settings = phone_settings(ctx.config)
    if facts.status not in FINAL:
        return CallResult("ignored", detail=f"call status {facts.status!r} is not final")
    if facts.missed and not (settings.missed_calls and facts.direction == "inbound"):
        return CallResult("ignored", detail="unanswered calls are not recorded")
    known = _update_known(ctx, facts)
    if known is not None:
        return known
    number = e164(facts.number, settings.default_region)
    now = ctx.clock.now()
    holder: dict[str, int] = {}

    def log(s: Session, result: intake.IntakeResult) -> None:
        assert result.case_number is not None
        row = _call_row(
            facts,
            number,
            case_number=result.case_number,
            message_id=result.message_id,
            source="twilio",
            created_at=now,
        )
        s.add(row)
        s.flush()
        holder["id"] = row.id

    who = number or "an unknown number"
    inbound = intake.InboundMessage(
        channel=CHANNEL,
        sender=CustomerInput(
            name=facts.caller_name or (None if number else "Unknown caller"), phone=number
        ),
        subject=f"{'Missed call' if facts.missed else 'Phone call'} "
        f"{'from' if facts.direction == 'inbound' else 'to'} {who}",
        body=facts.note(number),
        external_id=facts.call_sid,
        case_number=_open_case(ctx, number),
        on_stored=log,
    )
    result = intake.receive(ctx.db, ctx.config, inbound, now=now)
    if result.outcome == "duplicate":
        return _update_known(ctx, facts) or CallResult("duplicate", result.case_number)
    return CallResult(result.outcome, result.case_number, holder.get("id"))


def _open_case(ctx: Context, number: str | None) -> int | None:
    """The newest unsolved case of the customer intake will match for ``number``."""
    if number is None:
        return None
    with ctx.db.read() as s:
        customer = s.scalar(select(func.min(Customer.id)).where(Customer.phone == number))
        if customer is None:
            return None
        return s.scalar(
            select(Case.number)
            .where(Case.customer_id == customer, Case.status_category.in_(UNSOLVED))
            .order_by(Case.updated_at.desc(), Case.number.desc())
            .limit(1)
        )


def _update_known(ctx: Context, facts: CallFacts) -> CallResult | None:
    """For a CallSid already logged: fill in a recording or transcript it lacked."""
    with ctx.db.write() as s:
        row = s.scalar(select(PhoneCall).where(PhoneCall.call_sid == facts.call_sid))
        if row is None:
            return None
        changed = False
        if facts.recording_url and not row.recording_url:
            row.recording_url, changed = facts.recording_url, True
        if facts.transcript and not row.transcript:
            row.transcript, changed = facts.transcript, True
        if facts.duration_seconds is not None and row.duration_seconds is None:
            row.duration_seconds, changed = facts.duration_seconds, True
        return CallResult("updated" if changed else "duplicate", row.case_number, row.id)


# -- calls logged by agents ---------------------------------------------------------------------


@dataclass(frozen=True)
class NewCaseFields:
    subject: str | None = None
    customer: CustomerInput | None = None
    priority: str = "normal"
    category: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Logged:
    call: PhoneCall
    case_number: int
    created_case: bool
    replayed: bool = False


def log_manual(
    ctx: Context,
    facts: CallFacts,
    *,
    actor: Actor,
    ref: str | None = None,
    new_case: NewCaseFields | None = None,
    visibility: str = "internal",
    idempotency_key: str | None = None,
    strict_number: bool = True,
) -> Logged:
    """An agent's call: on case ``ref``, or on a new ``phone`` case (one transaction). With
    ``strict_number`` a number that is not a phone number is refused; else it is kept as
    typed (the console logs the call of a case it has just created)."""
    region = phone_settings(ctx.config).default_region
    if strict_number:
        number: str | None = normalise_phone(facts.number, region)
    else:
        number = e164(facts.number, region) or facts.number.strip()[:40] or None
    external = f"call:{actor.id}:{idempotency_key}"[:998] if idempotency_key else None
    if external and (earlier := _by_external(ctx, external)) is not None:
        return earlier
    now = ctx.clock.now()
    note = NewMessage(
        body=facts.note(number), visibility=visibility, channel=CHANNEL, external_id=external
    )
    try:
        with ctx.db.write() as s:
            if ref is not None:
                case = case_rows.lock_case(s, ctx.config, ref)
                message = insert_message(s, ctx.config, case, note, actor=actor, now=now)
                number_of_case, created = case.number, False
            else:
                fields = new_case or NewCaseFields()
                customer = fields.customer or CustomerInput()
                way = "from" if facts.direction == "inbound" else "to"
                data = cases.NewCase(
                    subject=(fields.subject or f"Phone call {way} {number}")[:300],
                    description=facts.notes,
                    channel=CHANNEL,
                    customer=CustomerInput(customer.name, customer.email, number)
                    if customer.name or customer.email or number
                    else None,
                    priority=fields.priority,
                    category=fields.category,
                    tags=fields.tags,
                    first_message=note,
                )
                made = cases.insert_case(s, ctx.config, data, actor=actor, now=now)
                number_of_case, created = made.number, True
                message = s.scalars(
                    select(Message).where(Message.case_number == made.number).limit(1)
                ).one()
            row = _call_row(
                facts,
                number,
                case_number=number_of_case,
                message_id=message.id,
                source="manual",
                logged_by_user_id=actor.id if actor.kind == "user" else None,
                created_at=now,
            )
            s.add(row)
            s.flush()
            return Logged(row, number_of_case, created)
    except IntegrityError:
        earlier = _by_external(ctx, external) if external else None
        if earlier is None:
            raise
        return earlier


def _by_external(ctx: Context, external_id: str) -> Logged | None:
    with ctx.db.read() as s:
        row = s.scalar(
            select(PhoneCall)
            .join(Message, Message.id == PhoneCall.message_id)
            .where(Message.external_id == external_id)
        )
    return Logged(row, row.case_number, False, replayed=True) if row is not None else None


def log_call(ctx: Context, ref: str, call: dict[str, Any], *, actor: Actor) -> None:
    """The console's hook (``services.console_features``): a call on an existing case."""
    facts = CallFacts(
        direction=str(call.get("direction") or "inbound"),
        number=str(call.get("number") or ""),
        duration_seconds=call.get("duration_seconds"),
        notes=str(call.get("notes") or ""),
    )
    log_manual(ctx, facts, actor=actor, ref=ref, strict_number=False)


def calls_of(ctx: Context, ref: str) -> list[PhoneCall]:
    """The call log of a case, oldest first."""
    number = case_rows.case_number(ctx.config, ref)
    with ctx.db.read() as s:
        if s.get(Case, number) is None:
            raise NotFound(f"no case {case_rows.ticket_id(ctx.config, number)}")
        return list(
            s.scalars(
                select(PhoneCall).where(PhoneCall.case_number == number).order_by(PhoneCall.id)
            )
        )
