"""clients.mobile_kind: whether a client's mobile is a mobile, a landline or invalid, stored
with the number so a mass send need not parse every number again.

Revision ID: 0005_mobile_kind
Revises: 0004_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_mobile_kind"
down_revision = "0004_merge"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade():
    with op.batch_alter_table("clients") as batch_op:
        batch_op.add_column(sa.Column("mobile_kind", sa.String(10), nullable=True))
    _fill()


def _fill():
    """Work out the kind of every stored number (NULL would only cost a check per send)."""
    from core.phones import kind  # the app's own rule, so old and new rows agree

    bind = op.get_bind()
    clients = sa.table("clients", sa.column("id", sa.Integer), sa.column("mobile", sa.String),
                       sa.column("mobile_kind", sa.String))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(clients.c.id, clients.c.mobile)
            .where(clients.c.id > last, clients.c.mobile.is_not(None))
            .order_by(clients.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            clients.update().where(clients.c.id == sa.bindparam("row_id"))
            .values(mobile_kind=sa.bindparam("kind")),
            [{"row_id": row.id, "kind": kind(row.mobile)} for row in rows],
        )
        last = rows[-1].id


def downgrade():
    with op.batch_alter_table("clients") as batch_op:
        batch_op.drop_column("mobile_kind")
