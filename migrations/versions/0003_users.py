"""Users and API tokens; the acting user of ledger entries, purchase orders and catalog rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 21:30:32.728314
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('VIEWER', 'CLERK', 'MANAGER', 'ADMIN', name='role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('failed_login_count', sa.Integer(), nullable=False),
    sa.Column('last_failed_login_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('locked_until', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('failed_login_count >= 0', name=op.f('ck_users_failed_login_count_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_created_at'), ['created_at'], unique=False)
    # Expression index (alembic cannot autogenerate it): usernames are unique whatever the case.
    op.create_index('uq_users_lower_username', 'users', [sa.text('lower(username)')], unique=True)

    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    # Adding a foreign key on SQLite copies the table, and the copy loses the expression indexes
    # (SQLite cannot reflect them): they are dropped first and made again afterwards.
    sqlite = op.get_context().dialect.name == 'sqlite'
    if sqlite:
        _drop_expression_indexes()

    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_categories_created_by_id_users'), 'users', ['created_by_id'], ['id'], ondelete='RESTRICT')

    with op.batch_alter_table('inventory_transactions', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_inventory_transactions_created_by_id_users'), 'users', ['created_by_id'], ['id'], ondelete='RESTRICT')

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_products_created_by_id_users'), 'users', ['created_by_id'], ['id'], ondelete='RESTRICT')

    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_purchase_orders_created_by_id_users'), 'users', ['created_by_id'], ['id'], ondelete='RESTRICT')

    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_suppliers_created_by_id_users'), 'users', ['created_by_id'], ['id'], ondelete='RESTRICT')

    if sqlite:
        _create_expression_indexes()


def downgrade() -> None:
    sqlite = op.get_context().dialect.name == 'sqlite'
    if sqlite:
        _drop_expression_indexes()

    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_suppliers_created_by_id_users'), type_='foreignkey')
        batch_op.drop_column('created_by_id')

    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_purchase_orders_created_by_id_users'), type_='foreignkey')

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_products_created_by_id_users'), type_='foreignkey')
        batch_op.drop_column('created_by_id')

    with op.batch_alter_table('inventory_transactions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_inventory_transactions_created_by_id_users'), type_='foreignkey')

    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_categories_created_by_id_users'), type_='foreignkey')
        batch_op.drop_column('created_by_id')

    if sqlite:
        _create_expression_indexes()

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
        batch_op.drop_index(batch_op.f('ix_api_tokens_expires_at'))

    op.drop_table('api_tokens')
    op.drop_index('uq_users_lower_username', table_name='users')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_created_at'))

    op.drop_table('users')


def _drop_expression_indexes() -> None:
    op.drop_index('uq_categories_sibling_name', table_name='categories')
    op.drop_index('uq_suppliers_lower_name', table_name='suppliers')


def _create_expression_indexes() -> None:
    # As in 0001.
    op.create_index(
        'uq_categories_sibling_name',
        'categories',
        [sa.text('coalesce(parent_id, 0)'), sa.text('lower(name)')],
        unique=True,
    )
    op.create_index('uq_suppliers_lower_name', 'suppliers', [sa.text('lower(name)')], unique=True)
