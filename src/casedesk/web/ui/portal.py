"""``/portal``: the customers' self-service portal."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
