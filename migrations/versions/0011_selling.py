"""Selling: customers, sales orders and their lines, reservations, customer returns; stock levels' reserved
units (CHECK 0 <= reserved <= quantity) and the ledger's links to sales orders.

Numbered 0011 after the migrations of parallel work (0009, 0010); revises 0008 until those are merged.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:30:59.647985
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('shipping_address', sa.Text(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_customers_created_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_customers_updated_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_is_active'), ['is_active'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_name'), ['name'], unique=False)
        batch_op.create_index('uq_customers_lower_name', [sa.text('lower(name)')], unique=True)

    op.create_table('sales_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('DRAFT', 'CONFIRMED', 'PARTIALLY_SHIPPED', 'SHIPPED', 'CANCELLED', name='salesorderstatus', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('requested_date', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('confirmed_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('shipped_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_sales_orders_created_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_sales_orders_customer_id_customers'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_sales_orders_number'))
    )
    with op.batch_alter_table('sales_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_orders_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_orders_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_orders_status'), ['status'], unique=False)

    op.create_table('sales_order_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sales_order_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('quantity_ordered', sa.Integer(), nullable=False),
    sa.Column('quantity_shipped', sa.Integer(), nullable=False),
    sa.Column('quantity_returned', sa.Integer(), nullable=False),
    sa.Column('unit_price', db.types.Money(14, 2), nullable=False),
    sa.CheckConstraint('quantity_ordered > 0', name=op.f('ck_sales_order_lines_quantity_ordered_positive')),
    sa.CheckConstraint('quantity_returned >= 0 AND quantity_returned <= quantity_shipped', name=op.f('ck_sales_order_lines_quantity_returned_in_range')),
    sa.CheckConstraint('quantity_shipped >= 0 AND quantity_shipped <= quantity_ordered', name=op.f('ck_sales_order_lines_quantity_shipped_in_range')),
    sa.CheckConstraint('unit_price >= 0', name=op.f('ck_sales_order_lines_unit_price_not_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_sales_order_lines_product_id_products'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['sales_order_id'], ['sales_orders.id'], name=op.f('fk_sales_order_lines_sales_order_id_sales_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_sales_order_lines_warehouse_id_warehouses'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_order_lines')),
    sa.UniqueConstraint('sales_order_id', 'product_id', 'warehouse_id', name=op.f('uq_sales_order_lines_sales_order_id_product_id_warehouse_id'))
    )
    with op.batch_alter_table('sales_order_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_order_lines_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_order_lines_sales_order_id'), ['sales_order_id'], unique=False)

    op.create_table('reservations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('expires_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('sales_order_line_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('released_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_reservations_quantity_not_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_reservations_created_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_reservations_product_id_products'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['sales_order_line_id'], ['sales_order_lines.id'], name=op.f('fk_reservations_sales_order_line_id_sales_order_lines'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_reservations_warehouse_id_warehouses'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reservations'))
    )
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.create_index('ix_reservations_level_open', ['product_id', 'warehouse_id', 'released_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reservations_sales_order_line_id'), ['sales_order_line_id'], unique=False)

    op.create_table('sales_returns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sales_order_line_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('disposition', sa.Enum('RESTOCK', 'SCRAP', name='returndisposition', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('transaction_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_sales_returns_quantity_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_sales_returns_created_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['sales_order_line_id'], ['sales_order_lines.id'], name=op.f('fk_sales_returns_sales_order_line_id_sales_order_lines'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['transaction_id'], ['inventory_transactions.id'], name=op.f('fk_sales_returns_transaction_id_inventory_transactions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_returns'))
    )
    with op.batch_alter_table('sales_returns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_returns_sales_order_line_id'), ['sales_order_line_id'], unique=False)

    with op.batch_alter_table('inventory_transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sales_order_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sales_order_line_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_inventory_transactions_sales_order_id'), ['sales_order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inventory_transactions_sales_order_line_id'), ['sales_order_line_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_inventory_transactions_sales_order_line_id_sales_order_lines'), 'sales_order_lines', ['sales_order_line_id'], ['id'], ondelete='RESTRICT')
        batch_op.create_foreign_key(batch_op.f('fk_inventory_transactions_sales_order_id_sales_orders'), 'sales_orders', ['sales_order_id'], ['id'], ondelete='RESTRICT')

    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reserved', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_stock_levels_reserved_in_range'), 'reserved >= 0 AND reserved <= quantity'
        )



def downgrade() -> None:
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_stock_levels_reserved_in_range'), type_='check')
        batch_op.drop_column('reserved')

    with op.batch_alter_table('inventory_transactions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_inventory_transactions_sales_order_id_sales_orders'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_inventory_transactions_sales_order_line_id_sales_order_lines'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_inventory_transactions_sales_order_line_id'))
        batch_op.drop_index(batch_op.f('ix_inventory_transactions_sales_order_id'))
        batch_op.drop_column('sales_order_line_id')
        batch_op.drop_column('sales_order_id')

    with op.batch_alter_table('sales_returns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sales_returns_sales_order_line_id'))

    op.drop_table('sales_returns')
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reservations_sales_order_line_id'))
        batch_op.drop_index('ix_reservations_level_open')

    op.drop_table('reservations')
    with op.batch_alter_table('sales_order_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sales_order_lines_sales_order_id'))
        batch_op.drop_index(batch_op.f('ix_sales_order_lines_product_id'))

    op.drop_table('sales_order_lines')
    with op.batch_alter_table('sales_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sales_orders_status'))
        batch_op.drop_index(batch_op.f('ix_sales_orders_customer_id'))
        batch_op.drop_index(batch_op.f('ix_sales_orders_created_at'))

    op.drop_table('sales_orders')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('uq_customers_lower_name')
        batch_op.drop_index(batch_op.f('ix_customers_name'))
        batch_op.drop_index(batch_op.f('ix_customers_is_active'))
        batch_op.drop_index(batch_op.f('ix_customers_created_at'))

    op.drop_table('customers')
