"""Indexes for the low-stock report, which walks the products by name summing each one's stock: products by
name with their reorder point and active flag (replacing the index on the name, its prefix), and stock
levels by product with their quantity, so that both are read from the index alone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 15:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(
            'ix_products_name_id_reorder', ['name', 'id', 'reorder_point', 'is_active'], unique=False
        )
        batch_op.drop_index('ix_products_name')
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.create_index('ix_stock_levels_product_id_quantity', ['product_id', 'quantity'], unique=False)
    # Statistics for the new indexes: without them SQLite's planner keeps to the primary key's index, which
    # does not hold the quantity.
    op.execute('ANALYZE products')
    op.execute('ANALYZE stock_levels')


def downgrade() -> None:
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_levels_product_id_quantity')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index('ix_products_name', ['name'], unique=False)
        batch_op.drop_index('ix_products_name_id_reorder')
