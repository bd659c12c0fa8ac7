"""``/reports``: report pages with charts."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
