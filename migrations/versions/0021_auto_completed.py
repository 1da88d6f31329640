"""Automation, completed: appointments.completed_at (follow-ups count from the moment an
appointment became Completed), appointments.confirmation_to (the other contact's mobile a
confirmation request went to, so that number's YES/NO answers it), and automation_rules
paused_at / paused_reason (a rule run that would exceed a monthly quota pauses the rule).

Revision ID: 0021_auto_completed
Revises: 0020_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_auto_completed"
down_revision = "0020_merge"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("appointments") as batch_op:
        batch_op.add_column(sa.Column("completed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("confirmation_to", sa.String(20), nullable=True))
        batch_op.create_index("ix_appointments_confirmation_to", ["confirmation_to"])
    with op.batch_alter_table("automation_rules") as batch_op:
        batch_op.add_column(sa.Column("paused_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("paused_reason", sa.String(300), nullable=False,
                                      server_default=""))


def downgrade():
    with op.batch_alter_table("automation_rules") as batch_op:
        batch_op.drop_column("paused_reason")
        batch_op.drop_column("paused_at")
    with op.batch_alter_table("appointments") as batch_op:
        batch_op.drop_index("ix_appointments_confirmation_to")
        batch_op.drop_column("confirmation_to")
        batch_op.drop_column("completed_at")
