"""calendar_feeds and calendar_feed_appointments: iCal feeds synced by a periodic job, and the
appointments each feed brought (cancelled when their event leaves the feed).

Revision ID: 0015_import
Revises: 0011_confirmation_status
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_import"
down_revision = "0011_confirmation_status"
branch_labels = None
depends_on = None

def upgrade():
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("own_addresses", sa.String(1000), nullable=False, server_default=""),
        sa.Column("allow_private", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("interval_minutes", sa.Integer(), nullable=False, server_default="15"),
        sa.Column("window_days", sa.Integer(), nullable=False, server_default="90"),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("etag", sa.String(200), nullable=True),
        sa.Column("last_modified", sa.String(100), nullable=True),
        sa.Column("last_checked_at", sa.DateTime(), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(), nullable=True),
        sa.Column("last_counts", sa.JSON(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "calendar_feed_appointments",
        sa.Column("feed_id", sa.Integer(),
                  sa.ForeignKey("calendar_feeds.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("appointment_id", sa.Integer(),
                  sa.ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_calendar_feed_appointments_appointment_id",
                    "calendar_feed_appointments", ["appointment_id"])

def downgrade():
    op.drop_table("calendar_feed_appointments")
    op.drop_table("calendar_feeds")
