"""Merge the inbound-queue and search-index branches into one line.

Revision ID: 0010_merge
Revises: 0007_inbound_queue, 0009_client_search
"""

revision = "0010_merge"
down_revision = ("0007_inbound_queue", "0009_client_search")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
