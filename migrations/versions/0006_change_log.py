"""The change log: one row per entity a mutation created, changed or deleted, with who did it, the fields'
old and new values and the request it came in; read newest first, by entity and by actor.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('operation', sa.String(length=64), nullable=False),
    sa.Column('entity_type', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=True),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_changes_actor_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_changes'))
    )
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.create_index('ix_changes_actor_id_id', ['actor_id', 'id'], unique=False)
        batch_op.create_index('ix_changes_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_changes_entity_type_entity_id_id', ['entity_type', 'entity_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_index('ix_changes_entity_type_entity_id_id')
        batch_op.drop_index('ix_changes_created_at')
        batch_op.drop_index('ix_changes_actor_id_id')
    op.drop_table('changes')
