"""Who changed a row last: `updated_by_id` on categories, suppliers, products, supplier terms and warehouses,
and `created_by_id` on warehouses.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each table and the columns naming a user that it gains.
_ACTORS = {
    'categories': ('updated_by_id',),
    'suppliers': ('updated_by_id',),
    'products': ('updated_by_id',),
    'product_suppliers': ('updated_by_id',),
    'warehouses': ('created_by_id', 'updated_by_id'),
}


def upgrade() -> None:
    # Adding a foreign key on SQLite copies the table, and the copy loses the expression indexes (SQLite
    # cannot reflect them): they are dropped first and made again afterwards.
    sqlite = op.get_context().dialect.name == 'sqlite'
    if sqlite:
        _drop_expression_indexes()
    for table, columns in _ACTORS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.add_column(sa.Column(column, sa.Integer(), nullable=True))
                batch_op.create_foreign_key(
                    batch_op.f(f'fk_{table}_{column}_users'), 'users', [column], ['id'], ondelete='RESTRICT'
                )
    if sqlite:
        _create_expression_indexes()
        _analyze()


def downgrade() -> None:
    sqlite = op.get_context().dialect.name == 'sqlite'
    if sqlite:
        _drop_expression_indexes()
    for table, columns in reversed(_ACTORS.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in reversed(columns):
                batch_op.drop_constraint(batch_op.f(f'fk_{table}_{column}_users'), type_='foreignkey')
                batch_op.drop_column(column)
    if sqlite:
        _create_expression_indexes()
        _analyze()


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


def _analyze() -> None:
    # A copied table has no planner statistics (SQLite drops them with the table it replaces), and without
    # them the planner leaves the covering indexes of 0004 and 0005 unused. PostgreSQL adds the columns in
    # place and keeps its statistics.
    for table in _ACTORS:
        op.execute(f'ANALYZE {table}')
