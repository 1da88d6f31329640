"""appointments.confirmation_status / confirmation_requested_at / confirmation_code: where a
client's confirmation of an appointment stands (Not requested, Awaiting reply, Confirmed, ...).

Revision ID: 0011_confirmation_status
Revises: 0010_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_confirmation_status"
down_revision = "0010_merge"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("appointments") as batch_op:
        batch_op.add_column(sa.Column("confirmation_status", sa.String(16), nullable=False,
                                      server_default="not_requested"))
        batch_op.add_column(sa.Column("confirmation_requested_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("confirmation_code", sa.Integer(), nullable=True))
    # Answers texted before this revision keep their meaning.
    op.execute("UPDATE appointments SET confirmation_status = 'confirmed' WHERE id IN "
               "(SELECT appointment_id FROM appointment_answers WHERE answer = 'yes')")
    op.execute("UPDATE appointments SET confirmation_status = 'declined' WHERE id IN "
               "(SELECT appointment_id FROM appointment_answers WHERE answer = 'no')")
    op.create_index("ix_appointments_confirmation_status", "appointments",
                    ["confirmation_status", "start_at"])


def downgrade():
    op.drop_index("ix_appointments_confirmation_status", table_name="appointments")
    with op.batch_alter_table("appointments") as batch_op:
        batch_op.drop_column("confirmation_code")
        batch_op.drop_column("confirmation_requested_at")
        batch_op.drop_column("confirmation_status")
