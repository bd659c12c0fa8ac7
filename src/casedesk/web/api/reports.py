"""``/api/v1/reports``: report figures as JSON or CSV."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
