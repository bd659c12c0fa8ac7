"""The self-service portal's sign-in: e-mailed magic links and optional customer passwords.

A magic link carries a signed token (``live_rules.sign_token``); only its SHA-256 is stored,
with the address it was sent to, an expiry (``[portal] link_ttl``) and ``used_at``. Redeeming
it is one conditional UPDATE (unused and unexpired), so a link signs in once, even when two
requests race. The e-mail leaves through the outbox (``services.outbox.enqueue_email``) in the
transaction that stores the link, delivered over ``[email.outbound]`` by the worker.

Asking for a link answers the same whether or not the address is known, so the form tells no
one who is a customer. With ``open_signup`` (the default) anyone who proves an address may sign
in and becomes a customer on first sign-in; without it, only existing customers get links.
Requests are limited per address and per client address, in the database (every process sees
the same counts). Sessions, cookies and CSRF are the web front ends' shared ones
(``services.sessions``, principal kind ``customer``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from casedesk.config import AppConfig, Settings
from casedesk.config_channels import portal_settings
from casedesk.config_notify import outbound_settings
from casedesk.db.contact_tables import CustomerCredential, PortalLink
from casedesk.db.session import Database
from casedesk.db.tables import Customer
from casedesk.domain.actors import Actor
from casedesk.domain.errors import Conflict, InvalidInput
from casedesk.services import audit, customers, outbox
from casedesk.services.customers import CustomerRecord
from casedesk.services.users import check_password, hash_password, normalise_email

from .live_rules import digest, sign_token, valid_email, verify_token

PURPOSE = "portal-link"
PORTAL = Actor(kind="channel", label="portal", origin="portal")
LINK_WINDOW = timedelta(minutes=15)
MAX_LINKS_PER_EMAIL = 5
MAX_LINKS_PER_IP = 30
MIN_PASSWORD = 10


def customer_actor(customer: CustomerRecord) -> Actor:
    return Actor(
        kind="customer", id=customer.id, label=customer.email or customer.name, origin="portal"
    )


def checked_email(raw: str) -> str:
    if not valid_email(raw):
        raise InvalidInput(f"'{raw.strip()[:100]}' is not an e-mail address", field="email")
    return normalise_email(raw)


@dataclass(frozen=True)
class LinkRequest:
    """What happened to a request for a link; the page shows the same either way."""

    sent: bool
    wait: timedelta | None = None  # set when refused for asking too often


def request_link(
    db: Database,
    config: AppConfig,
    settings: Settings,
    *,
    email: str,
    ip: str,
    now: datetime,
) -> LinkRequest:
    """Queue a sign-in link to ``email`` (``InvalidInput`` for a malformed address)."""
    address = checked_email(email)
    wait = _too_many(db, address, ip, now)
    if wait is not None:
        return LinkRequest(False, wait)
    portal = portal_settings(config)
    token = sign_token(settings.secret_key, PURPOSE, int(now.timestamp()))
    with db.write() as s:
        customer_id = s.scalar(select(Customer.id).where(Customer.email == address))
        if customer_id is None and not portal.open_signup:
            # Recorded for the rate limit, never mailed: the answer looks the same.
            s.add(_link("x" + token, address, None, ip, now, expires=now))
            return LinkRequest(False)
        link = _link(token, address, customer_id, ip, now, expires=now + portal.link_ttl)
        s.add(link)
        s.flush()
        message = link_email(config, settings, address, token, portal.link_ttl)
        outbox.enqueue_email(
            s, message, dedupe_key=f"portal-link:{link.id}", now=now, event="portal.sign_in_link"
        )
    return LinkRequest(True)


def _link(
    token: str, email: str, customer_id: int | None, ip: str, now: datetime, expires: datetime
) -> PortalLink:
    return PortalLink(
        token_hash=digest(token),
        email=email,
        customer_id=customer_id,
        created_at=now,
        expires_at=expires,
        ip=ip[:45],
    )


def _too_many(db: Database, email: str, ip: str, now: datetime) -> timedelta | None:
    since = now - LINK_WINDOW
    with db.query() as conn:
        per_email = conn.execute(
            select(func.count(), func.min(PortalLink.created_at)).where(
                PortalLink.email == email, PortalLink.created_at > since
            )
        ).one()
        per_ip = (
            conn.execute(
                select(func.count(), func.min(PortalLink.created_at)).where(
                    PortalLink.ip == ip[:45], PortalLink.created_at > since
                )
            ).one()
            if ip
            else (0, None)
        )
    for (count, oldest), cap in ((per_email, MAX_LINKS_PER_EMAIL), (per_ip, MAX_LINKS_PER_IP)):
        if count >= cap and oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
            return max(oldest + LINK_WINDOW - now, timedelta(seconds=1))
    return None


def sender(config: AppConfig) -> str:
    portal = portal_settings(config)
    outbound = outbound_settings(config)
    return portal.sender or (outbound.sender if outbound else None) or "casedesk@localhost"


def link_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}/portal/auth/{token}"


def link_email(
    config: AppConfig, settings: Settings, to: str, token: str, ttl: timedelta
) -> EmailMessage:
    msg = EmailMessage()
    from_address = sender(config)
    msg["Subject"] = "Your sign-in link for the support portal"
    msg["From"] = from_address
    msg["To"] = to
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2] or "casedesk.local")
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    minutes = int(ttl.total_seconds() // 60)
    msg.set_content(
        "Hello,\n\n"
        "use this link to sign in to the support portal. It works once, within "
        f"{minutes} minutes:\n\n{link_url(settings, token)}\n\n"
        "If you did not ask for it, ignore this e-mail: nobody can sign in without it.\n"
    )
    return msg


class LinkInvalid(Conflict):
    title = "Sign-in link not valid"


def redeem_link(
    db: Database, config: AppConfig, settings: Settings, token: str, *, now: datetime
) -> CustomerRecord:
    """The customer a link signs in, once; ``LinkInvalid`` when forged, used or expired."""
    if verify_token(settings.secret_key, PURPOSE, token) is None:
        raise LinkInvalid("this sign-in link is not valid; ask for a new one")
    with db.write() as s:
        claimed = s.execute(
            update(PortalLink)
            .where(
                PortalLink.token_hash == digest(token),
                PortalLink.used_at.is_(None),
                PortalLink.expires_at > now,
            )
            .values(used_at=now)
            .returning(PortalLink.email, PortalLink.customer_id)
            .execution_options(synchronize_session=False)
        ).first()
        if claimed is None:
            raise LinkInvalid(
                "this sign-in link has expired or was already used; ask for a new one"
            )
        if claimed.customer_id is not None:
            row = s.get_one(Customer, claimed.customer_id)
            return CustomerRecord(row.id, row.name, row.email, row.phone, row.external_ref)
        return customers.resolve(
            s, customers.CustomerInput(email=claimed.email), actor=PORTAL, now=now
        )


# -- passwords ----------------------------------------------------------------------------------


def set_password(db: Database, customer: CustomerRecord, password: str, *, now: datetime) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters", field="password")
    if len(password) > 200:
        raise InvalidInput("a password has at most 200 characters", field="password")
    hashed = hash_password(password)
    values = {"customer_id": customer.id, "password_hash": hashed, "updated_at": now}
    with db.write() as s:
        insert = postgresql.insert if db.is_postgresql else sqlite.insert
        s.execute(
            insert(CustomerCredential)
            .values(**values)
            .on_conflict_do_update(
                index_elements=["customer_id"],
                set_={"password_hash": hashed, "updated_at": now},
            )
        )
        audit.record(
            s,
            scope=f"customer:{customer.id}",
            action="customer.password_set",
            actor=customer_actor(customer),
            now=now,
            data={},
        )


def has_password(db: Database, customer_id: int) -> bool:
    with db.read() as s:
        return s.get(CustomerCredential, customer_id) is not None


def authenticate_password(db: Database, email: str, password: str) -> CustomerRecord | None:
    """The customer with this e-mail and password; the same work whether or not they exist."""
    try:
        address = checked_email(email)
    except InvalidInput:
        address = None
    row = None
    if address:
        with db.read() as s:
            row = s.execute(
                select(Customer, CustomerCredential.password_hash)
                .join(CustomerCredential, CustomerCredential.customer_id == Customer.id)
                .where(Customer.email == address)
            ).first()
    if row is None:
        hash_password(password or "x")  # the same cost for unknown addresses
        return None
    customer, stored = row
    if not check_password(stored, password):
        return None
    return CustomerRecord(
        customer.id, customer.name, customer.email, customer.phone, customer.external_ref
    )


def customer_by_id(db: Database, customer_id: int) -> CustomerRecord | None:
    with db.read() as s:
        row = s.get(Customer, customer_id)
    if row is None:
        return None
    return CustomerRecord(row.id, row.name, row.email, row.phone, row.external_ref)
