"""Customers: found by e-mail, phone or external reference, created on first contact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import phonenumbers
from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from casedesk.db.session import Database
from casedesk.db.tables import Customer, table
from casedesk.domain.actors import Actor
from casedesk.domain.errors import InvalidInput, NotFound
from casedesk.services import audit
from casedesk.services.users import normalise_email


@dataclass(frozen=True)
class CustomerInput:
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    external_ref: str | None = None


def normalise_phone(phone: str, region: str | None = None) -> str:
    """E.164 form of a phone number; ``region`` applies to numbers without a country code."""
    try:
        parsed = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"'{phone}' is not a phone number: {exc}", field="phone") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidInput(f"'{phone}' is not a possible phone number", field="phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class CustomerRecord:
    """A customer's plain facts, as read or written in the current transaction."""

    id: int
    name: str
    email: str | None
    phone: str | None
    external_ref: str | None


_COLUMNS = (Customer.id, Customer.name, Customer.email, Customer.phone, Customer.external_ref)


@lru_cache(maxsize=8)
def _lookup(keys: tuple[str, ...]) -> Select[int, str, str | None, str | None, str | None]:
    """Customers matching any of ``keys``; built once per combination (the busiest read of
    case intake, so its statement is not rebuilt per call)."""
    columns = table(Customer).c
    return (
        select(*_COLUMNS)
        .where(or_(*(columns[k] == bindparam(k) for k in keys)))
        .order_by(Customer.id)
    )


def resolve(
    s: Session, data: CustomerInput, *, actor: Actor, now: datetime, region: str | None = None
) -> CustomerRecord:
    """The customer matching ``data`` (e-mail, then external ref, then phone), created if new.
    Runs inside the caller's transaction; safe when two transactions create the same e-mail."""
    email = normalise_email(data.email) if data.email else None
    phone = normalise_phone(data.phone, region) if data.phone else None
    given = {"email": email, "external_ref": data.external_ref, "phone": phone}
    keys = tuple(k for k, v in given.items() if v)
    if keys:
        found = s.execute(_lookup(keys), {k: given[k] for k in keys}).all()
        for key in keys:  # e-mail wins over external reference over phone
            for row in found:
                if getattr(row, key) == given[key]:
                    return CustomerRecord(*row)
    if not (email or phone or data.external_ref or data.name):
        raise InvalidInput(
            "a customer needs at least a name, e-mail, phone or external_ref", field="customer"
        )
    name = (data.name or email or phone or data.external_ref or "").strip()
    values = {
        "name": name,
        "email": email,
        "phone": phone,
        "external_ref": data.external_ref,
        "created_at": now,
    }
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    new_id = s.scalar(
        insert(table(Customer)).values(**values).on_conflict_do_nothing().returning(Customer.id)
    )
    if new_id is None:  # created by a concurrent transaction a moment ago
        row = s.execute(select(*_COLUMNS).where(Customer.email == email)).one()
        return CustomerRecord(*row)
    audit.record(
        s,
        scope=f"customer:{new_id}",
        action="customer.created",
        actor=actor,
        now=now,
        data={"email": email, "phone": phone, "external_ref": data.external_ref},
        first_in_scope=True,
    )
    return CustomerRecord(new_id, name, email, phone, data.external_ref)


def record_of(s: Session, customer_id: int) -> CustomerRecord | None:
    row = s.execute(select(*_COLUMNS).where(Customer.id == customer_id)).first()
    return CustomerRecord(*row) if row else None


def create(
    db: Database, data: CustomerInput, *, actor: Actor, now: datetime, region: str | None = None
) -> CustomerRecord:
    with db.write() as s:
        return resolve(s, data, actor=actor, now=now, region=region)


def get(db: Database, customer_id: int) -> Customer:
    with db.read() as s:
        customer = s.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    return customer
