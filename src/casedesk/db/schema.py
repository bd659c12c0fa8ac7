"""Every table module, imported so ``Base.metadata`` knows the whole schema (migrations, tests)."""

from casedesk.db import (
    channel_tables,
    contact_tables,
    report_tables,
    sla_tables,
    tables,
    ui_tables,
)
from casedesk.db.tables import Base

metadata = Base.metadata
__all__ = [
    "channel_tables",
    "contact_tables",
    "metadata",
    "report_tables",
    "sla_tables",
    "tables",
    "ui_tables",
]
