"""Adjustment reasons: why a count differed from the stock level, on the ledger's ADJUSTMENT entries.

A nullable column: entries made before it (adjustments among them) keep null, which the API shows as "not
recorded"; nothing is guessed for them. Added in place on both databases (SQLite's ADD COLUMN takes the
column's CHECK constraint), so the ledger, the largest table, is not copied.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REASONS = ('CYCLE_COUNT', 'DAMAGED', 'LOST', 'FOUND', 'EXPIRED', 'CORRECTION')
_CHECK = 'ck_inventory_transactions_adjustmentreason'
_ALLOWED = f"reason IN ({', '.join(repr(r) for r in _REASONS)})"


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(
            f'ALTER TABLE inventory_transactions ADD COLUMN reason VARCHAR(20) CONSTRAINT {_CHECK} CHECK ({_ALLOWED})'
        )
        return
    op.add_column('inventory_transactions', sa.Column('reason', sa.String(length=20), nullable=True))
    op.create_check_constraint(_CHECK, 'inventory_transactions', _ALLOWED)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # A copy of the table: once a later migration has copied the ledger (batch mode), the CHECK is the
        # table's rather than the column's, and SQLite's DROP COLUMN refuses a column a table CHECK names.
        with op.batch_alter_table('inventory_transactions', recreate='always') as batch_op:
            batch_op.drop_constraint(op.f(_CHECK), type_='check')
            batch_op.drop_column('reason')
        return
    op.drop_constraint(_CHECK, 'inventory_transactions', type_='check')
    op.drop_column('inventory_transactions', 'reason')
