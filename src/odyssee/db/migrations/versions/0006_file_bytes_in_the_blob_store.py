"""file bytes in the blob store

Moves ``db_file.file_content`` into the ``blob`` table (domain/blobs.py), copying existing bytes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 13:11:44.642462
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('blob',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('owner_table', sa.String(length=50), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('property', sa.String(length=50), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_blob_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'owner_table', 'owner_id', 'property', name=op.f('pk_blob'))
    )
    op.execute(
        "INSERT INTO blob (tenant_id, owner_table, owner_id, property, content, size) "
        "SELECT tenant_id, 'db_file', id, 'file_content', file_content, length(file_content) "
        "FROM db_file WHERE length(file_content) > 0"
    )
    with op.batch_alter_table('db_file') as batch:
        batch.drop_column('file_content')


def downgrade() -> None:
    with op.batch_alter_table('db_file') as batch:
        batch.add_column(sa.Column('file_content', sa.LargeBinary(), server_default=sa.text("''"), nullable=False))
    op.execute(
        "UPDATE db_file SET file_content = (SELECT content FROM blob WHERE blob.tenant_id = db_file.tenant_id "
        "AND blob.owner_table = 'db_file' AND blob.owner_id = db_file.id AND blob.property = 'file_content') "
        "WHERE EXISTS (SELECT 1 FROM blob WHERE blob.tenant_id = db_file.tenant_id "
        "AND blob.owner_table = 'db_file' AND blob.owner_id = db_file.id AND blob.property = 'file_content')"
    )
    op.drop_table('blob')
