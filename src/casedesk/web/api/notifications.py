"""``/api/v1/notifications``: dead letters and retries."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
