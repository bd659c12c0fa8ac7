"""``/api/v1/channels``: inbound email webhook, quarantine, phone webhook, live chat."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
