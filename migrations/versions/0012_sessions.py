"""users.session_version / must_change_password: a generation that ends every session of a
user when it changes (sign-out, password change, role None, deactivation), and an admin's
forced password reset.

Revision ID: 0012_sessions
Revises: 0011_confirmation_status
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_sessions"
down_revision = "0011_confirmation_status"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("session_version")
