"""approval signature

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('job_approval', sa.Column('signature', sa.LargeBinary(), server_default=sa.text("''"), nullable=False))


def downgrade() -> None:
    op.drop_column('job_approval', 'signature')
