"""Idempotency keys per user: a key is its sender's own, unique per (user_id, key) rather than for everyone.

Stored keys go to the user who made the ledger entries they point to (every entry of one request is made by
the same user). A key that points to no entry made by a user (a count that matched the stock level, which
records none) cannot be given to anyone: it is deleted, as no request could match it any more. Keys last
a day by default from now on, so none of those is missed for long.

Going back, keys are unique again for everyone: of keys that several users sent, each one's newest stays.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 22:30:00
"""

from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_keys = sa.table(
    'idempotency_keys', sa.column('key', sa.String), sa.column('response', sa.Text), sa.column('user_id', sa.Integer)
)
_CHUNK = 1000
_entries = sa.table('inventory_transactions', sa.column('id', sa.Integer), sa.column('created_by_id', sa.Integer))


def upgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))

    connection = op.get_bind()
    first_entry: dict[str, int] = {}
    for key, response in connection.execute(sa.select(_keys.c.key, _keys.c.response)):
        ids = orjson.loads(response).get('transaction_ids') if response else None
        if ids:
            first_entry[key] = ids[0]
    # In chunks: a statement takes at most 32,767 parameters on asyncpg (and SQLite has a limit of its own).
    entry_ids = sorted(set(first_entry.values()))
    made_by: dict[int, int] = {}
    for start in range(0, len(entry_ids), _CHUNK):
        made_by.update(
            connection.execute(
                sa.select(_entries.c.id, _entries.c.created_by_id).where(
                    _entries.c.id.in_(entry_ids[start:start + _CHUNK]), _entries.c.created_by_id.is_not(None)
                )
            ).all()
        )
    owners = [
        {'b_key': key, 'b_user_id': made_by[entry_id]}
        for key, entry_id in first_entry.items()
        if entry_id in made_by
    ]
    give = sa.update(_keys).where(_keys.c.key == sa.bindparam('b_key')).values(user_id=sa.bindparam('b_user_id'))
    for start in range(0, len(owners), _CHUNK):
        connection.execute(give, owners[start:start + _CHUNK])
    connection.execute(sa.delete(_keys).where(_keys.c.user_id.is_(None)))

    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint('pk_idempotency_keys', type_='primary')
        batch_op.create_primary_key('pk_idempotency_keys', ['user_id', 'key'])
        batch_op.create_foreign_key(
            batch_op.f('fk_idempotency_keys_user_id_users'), 'users', ['user_id'], ['id'], ondelete='CASCADE'
        )


def downgrade() -> None:
    # One row per key: each key's newest (of equally new ones, the one of the highest user id).
    op.execute(
        'DELETE FROM idempotency_keys WHERE EXISTS (SELECT 1 FROM idempotency_keys AS newer '
        'WHERE newer.key = idempotency_keys.key AND (newer.created_at > idempotency_keys.created_at '
        'OR (newer.created_at = idempotency_keys.created_at AND newer.user_id > idempotency_keys.user_id)))'
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_idempotency_keys_user_id_users'), type_='foreignkey')
        batch_op.drop_constraint('pk_idempotency_keys', type_='primary')
        batch_op.create_primary_key('pk_idempotency_keys', ['key'])
        batch_op.drop_column('user_id')
