"""What ``casedesk bench generate`` writes: loyalty-programme support cases (subjects,
descriptions, replies by topic), and each case's life (replies, holds, resolution, reopening,
auto-close) as a timeline of steps with their times. Pure and seeded: the same seed gives the
same data set.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FIRST = [
    "Ada",
    "Alan",
    "Amira",
    "Ben",
    "Bo",
    "Carla",
    "Chen",
    "Dana",
    "Elif",
    "Emma",
    "Femi",
    "Grace",
    "Hana",
    "Ines",
    "Ivan",
    "Jonas",
    "Kai",
    "Lena",
    "Liam",
    "Maya",
    "Mei",
    "Nadia",
    "Noah",
    "Olga",
    "Omar",
    "Pia",
    "Priya",
    "Raj",
    "Rosa",
    "Sam",
    "Sara",
    "Tariq",
    "Tom",
    "Uma",
    "Vera",
    "Wei",
    "Yusuf",
    "Zoe",
]
LAST = [
    "Adams",
    "Baker",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Muller",
    "Nakamura",
    "Novak",
    "Okafor",
    "Patel",
    "Quinn",
    "Rossi",
    "Santos",
    "Schmidt",
    "Silva",
    "Smith",
    "Tanaka",
    "Usman",
    "Varga",
    "Weber",
    "Wong",
    "Yilmaz",
    "Zhang",
]
PARTNERS = (
    "SkyAir",
    "FreshMart",
    "CityFuel",
    "StayWell Hotels",
    "BookNook",
    "RideNow",
    "CinemaMax",
    "Bean & Leaf",
)
DOMAINS = ("example.com", "example.org", "mail.example.net", "post.example")
TEAMS = ("tier1", "tier2", "partners", "billing")
HOLD_REASONS = (("awaiting_customer", 0.6), ("third_party", 0.3), ("internal", 0.1))
CHANNELS = (
    ("email", 0.38),
    ("chat", 0.2),
    ("phone", 0.15),
    ("portal", 0.15),
    ("api", 0.06),
    ("console", 0.06),
)
PRIORITIES = ((0, 0.2), (1, 0.55), (2, 0.2), (3, 0.05))  # low, normal, high, urgent
EXTRA_TAGS = ("vip", "app", "web", "in-store", "refund", "complaint", "gdpr", "first-contact")


@dataclass(frozen=True)
class Topic:
    category: str
    weight: float
    team: str
    subjects: tuple[str, ...]
    details: tuple[str, ...]
    tags: tuple[str, ...] = ()


TOPICS = (
    Topic(
        "points",
        0.3,
        "tier1",
        (
            "Points not credited after purchase at {partner}",
            "Missing points for order {order}",
            "Points balance wrong after my last visit",
            "Points expired earlier than announced",
            "Double points promotion not applied",
        ),
        (
            "I shopped at {partner} on {day} and the points never showed up in my account.",
            "My receipt number is {order}; the app still shows the old balance.",
            "The promotion said double points but I only got the normal amount.",
        ),
        ("points",),
    ),
    Topic(
        "redemption",
        0.22,
        "tier2",
        (
            "Cannot redeem voucher for {partner}",
            "Reward ordered but never delivered",
            "Redemption charged twice",
            "Voucher code rejected at checkout",
        ),
        (
            "I redeemed {points} points for a {partner} voucher and the code does not work.",
            "The reward was ordered two weeks ago and has not arrived.",
            "My points were taken twice for one reward.",
        ),
        ("redemption",),
    ),
    Topic(
        "account",
        0.2,
        "tier1",
        (
            "Cannot log in to the app",
            "Password reset e-mail not arriving",
            "Please merge my two loyalty accounts",
            "Change the e-mail address on my account",
            "Delete my account and data",
        ),
        (
            "The app says my password is wrong even after a reset.",
            "I have two member numbers and would like one account with all my points.",
            "I never receive the reset e-mail, also not in the spam folder.",
        ),
        ("account",),
    ),
    Topic(
        "card",
        0.1,
        "tier1",
        (
            "Lost my loyalty card",
            "Card not recognised at the till",
            "Replacement card not received",
        ),
        (
            "The cashier could not scan my card at {partner}.",
            "I ordered a new card a month ago and it has not come.",
        ),
        ("card",),
    ),
    Topic(
        "tier",
        0.08,
        "tier2",
        (
            "Gold tier benefits not applied",
            "Tier status downgraded without notice",
            "Lounge access refused despite Platinum status",
        ),
        (
            "I reached Gold in {month} but still get Silver prices.",
            "My tier dropped although I had enough qualifying points.",
        ),
        ("tier",),
    ),
    Topic(
        "partner",
        0.1,
        "partners",
        (
            "{partner} did not award points",
            "Miles transfer to {partner} pending",
            "Partner offer not shown in the app",
        ),
        (
            "The transfer of {points} points to {partner} has been pending for days.",
            "{partner} says the points were sent, but I cannot see them.",
        ),
        ("partner",),
    ),
)
SPIKE = Topic(
    "redemption",
    0.0,
    "tier2",
    (
        "Redemption failing after the catalogue sync",
        "Rewards catalogue sync broke my redemption",
        "Redemption error since the new catalogue",
    ),
    (
        "Since the catalogue sync yesterday every redemption fails with an error.",
        "I try to redeem points for a reward from the new catalogue and get 'item unavailable'.",
    ),
    ("redemption", "catalogue-sync"),
)
AGENT_REPLIES = (
    "Thank you for getting in touch. I am looking into this now and will update you shortly.",
    "Sorry for the trouble. I have passed the details to the team that handles {category}.",
    "Thanks, I can see your account. Could you send me the receipt or order number?",
)
CUSTOMER_REPLIES = (
    "Here is the receipt, thanks for checking.",
    "Any news on this? It has been a while.",
    "It still does not work, sorry.",
)
RESOLUTIONS = (
    "Points credited manually.",
    "New voucher issued.",
    "Accounts merged.",
    "Explained the tier rules; no change needed.",
    "Partner confirmed the transfer.",
)


def pick(rng: random.Random, weighted: tuple[tuple[object, float], ...]) -> object:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def fill(rng: random.Random, template: str) -> str:
    return template.format(
        partner=rng.choice(PARTNERS),
        order=f"{rng.randrange(10**7, 10**8)}",
        points=rng.choice((500, 1000, 2500, 5000, 10000)),
        day=rng.choice(("Monday", "Tuesday", "Friday", "the weekend")),
        month=rng.choice(("March", "June", "September")),
        category="this",
    )


@dataclass
class Step:
    """One thing that happens to a case: a message or a status change, at ``t`` (Unix s)."""

    t: int
    kind: str  # "customer_msg" | "agent_msg" | "status"
    to: str = ""
    reason_code: str | None = None
    reason: str | None = None
    resolution: str | None = None
    by: str = "agent"  # "agent" | "customer" | "system"
    body: str = ""


@dataclass
class Life:
    steps: list[Step] = field(default_factory=list)


def lognormal(rng: random.Random, median_s: float, sigma: float = 0.9) -> int:
    return max(60, int(rng.lognormvariate(0, sigma) * median_s))


def life(rng: random.Random, created: int, now: int, priority: int, category: str) -> list[Step]:
    """The steps of one case from its creation up to ``now`` (later steps are cut off)."""
    speed = (1.6, 1.0, 0.6, 0.25)[priority]
    t = created + lognormal(rng, 2 * 3600 * speed)
    steps = [
        Step(t, "agent_msg", body=rng.choice(AGENT_REPLIES).format(category=category)),
        Step(t + 1, "status", to="in_progress"),
    ]
    t += 1
    if rng.random() < 0.28:
        reason = str(pick(rng, HOLD_REASONS))
        t += lognormal(rng, 3 * 3600)
        steps.append(Step(t, "status", to="on_hold", reason_code=reason, reason="waiting"))
        t += lognormal(rng, 26 * 3600)
        if reason == "awaiting_customer":
            steps.append(Step(t, "customer_msg", by="customer", body=rng.choice(CUSTOMER_REPLIES)))
            t += lognormal(rng, 1800)
        steps.append(Step(t, "status", to="in_progress"))
    t += lognormal(rng, 30 * 3600 * speed)
    steps.append(Step(t, "status", to="resolved", resolution=rng.choice(RESOLUTIONS)))
    if rng.random() < 0.06:  # the customer is not happy: reopened, then resolved again
        t += lognormal(rng, 20 * 3600)
        steps.append(Step(t, "customer_msg", by="customer", body="This is not solved, sorry."))
        steps.append(Step(t, "status", to="in_progress", by="customer", reason="customer replied"))
        t += lognormal(rng, 20 * 3600 * speed)
        steps.append(Step(t, "status", to="resolved", resolution=rng.choice(RESOLUTIONS)))
    t += 5 * 86400  # the quiet period before auto-close
    steps.append(Step(t, "status", to="closed", by="system"))
    return [s for s in steps if s.t <= now]
