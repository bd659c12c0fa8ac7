"""``/api/v1/cases/{id}/sla``: the SLA ledger of a case."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
