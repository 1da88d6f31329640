"""Merge the four 0002 branches (compose, delivery, mailbox, simulator) into one line.

Revision ID: 0003_merge
Revises: 0002_compose, 0002_delivery, 0002_mailbox, 0002_simulator
"""

revision = "0003_merge"
down_revision = ("0002_compose", "0002_delivery", "0002_mailbox", "0002_simulator")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
