"""Queue filters on a status category ("everything pending") read an index instead of the table.

Closed cases are nearly all of a mature database, so a page of pending or open cases under
another filter (a tag, say) scanned every case for its category.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cases_status_category_number", "cases", ["status_category", "number"])


def downgrade() -> None:
    op.drop_index("ix_cases_status_category_number", table_name="cases")
