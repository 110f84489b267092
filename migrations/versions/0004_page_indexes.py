"""Indexes that serve one page per parent: a category's products by name, a supplier's offers by id.

Each replaces the single-column index on the foreign key, which it covers as its prefix.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 23:55:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index('ix_products_category_id_name_id', ['category_id', 'name', 'id'], unique=False)
        batch_op.drop_index('ix_products_category_id')
    with op.batch_alter_table('product_suppliers', schema=None) as batch_op:
        batch_op.create_index('ix_product_suppliers_supplier_id_id', ['supplier_id', 'id'], unique=False)
        batch_op.drop_index('ix_product_suppliers_supplier_id')


def downgrade() -> None:
    with op.batch_alter_table('product_suppliers', schema=None) as batch_op:
        batch_op.create_index('ix_product_suppliers_supplier_id', ['supplier_id'], unique=False)
        batch_op.drop_index('ix_product_suppliers_supplier_id_id')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index('ix_products_category_id', ['category_id'], unique=False)
        batch_op.drop_index('ix_products_category_id_name_id')
