"""Catalog: categories, suppliers, products and supplier terms.

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 20:50:11.071213
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['categories.id'], name=op.f('fk_categories_parent_id_categories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('slug', name=op.f('uq_categories_slug'))
    )
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_categories_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_categories_name', ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_categories_parent_id'), ['parent_id'], unique=False)
    # Expression index (alembic cannot autogenerate it): sibling names are unique, roots included.
    op.create_index(
        'uq_categories_sibling_name',
        'categories',
        [sa.text('coalesce(parent_id, 0)'), sa.text('lower(name)')],
        unique=True,
    )

    op.create_table('suppliers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('website', sa.String(length=500), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppliers')),
    )
    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suppliers_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_suppliers_is_active'), ['is_active'], unique=False)
        batch_op.create_index(batch_op.f('ix_suppliers_name'), ['name'], unique=False)
    op.create_index('uq_suppliers_lower_name', 'suppliers', [sa.text('lower(name)')], unique=True)

    op.create_table('products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('unit_price', db.types.Money(14, 2), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('reorder_point', sa.Integer(), nullable=False),
    sa.Column('reorder_quantity', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('reorder_point >= 0', name=op.f('ck_products_reorder_point_not_negative')),
    sa.CheckConstraint('reorder_quantity >= 0', name=op.f('ck_products_reorder_quantity_not_negative')),
    sa.CheckConstraint('unit_price >= 0', name=op.f('ck_products_unit_price_not_negative')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_products_category_id_categories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('sku', name=op.f('uq_products_sku'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_is_active'), ['is_active'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_unit_price'), ['unit_price'], unique=False)

    op.create_table('product_suppliers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('supplier_sku', sa.String(length=64), nullable=True),
    sa.Column('unit_cost', db.types.Money(14, 2), nullable=False),
    sa.Column('lead_time_days', sa.Integer(), nullable=False),
    sa.Column('is_preferred', sa.Boolean(), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('lead_time_days >= 0', name=op.f('ck_product_suppliers_lead_time_not_negative')),
    sa.CheckConstraint('unit_cost >= 0', name=op.f('ck_product_suppliers_unit_cost_not_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_suppliers_product_id_products'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_product_suppliers_supplier_id_suppliers'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_suppliers')),
    sa.UniqueConstraint('product_id', 'supplier_id', name=op.f('uq_product_suppliers_product_id_supplier_id'))
    )
    with op.batch_alter_table('product_suppliers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_suppliers_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_product_suppliers_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_product_suppliers_supplier_id'), ['supplier_id'], unique=False)
        batch_op.create_index('uq_product_suppliers_preferred', ['product_id'], unique=True, sqlite_where=sa.text('is_preferred'), postgresql_where=sa.text('is_preferred'))



def downgrade() -> None:
    with op.batch_alter_table('product_suppliers', schema=None) as batch_op:
        batch_op.drop_index('uq_product_suppliers_preferred', sqlite_where=sa.text('is_preferred'), postgresql_where=sa.text('is_preferred'))
        batch_op.drop_index(batch_op.f('ix_product_suppliers_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_product_suppliers_product_id'))
        batch_op.drop_index(batch_op.f('ix_product_suppliers_created_at'))

    op.drop_table('product_suppliers')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_products_unit_price'))
        batch_op.drop_index(batch_op.f('ix_products_name'))
        batch_op.drop_index(batch_op.f('ix_products_is_active'))
        batch_op.drop_index(batch_op.f('ix_products_created_at'))
        batch_op.drop_index(batch_op.f('ix_products_category_id'))

    op.drop_table('products')
    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suppliers_name'))
        batch_op.drop_index(batch_op.f('ix_suppliers_is_active'))
        batch_op.drop_index(batch_op.f('ix_suppliers_created_at'))

    op.drop_index('uq_suppliers_lower_name', table_name='suppliers')
    op.drop_table('suppliers')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_categories_parent_id'))
        batch_op.drop_index('ix_categories_name')
        batch_op.drop_index(batch_op.f('ix_categories_created_at'))

    op.drop_index('uq_categories_sibling_name', table_name='categories')
    op.drop_table('categories')
