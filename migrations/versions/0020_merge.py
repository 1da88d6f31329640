"""Merge the staff chat and usage branches into one line.

Revision ID: 0020_merge
Revises: 0018_team, 0019_usage
"""

revision = "0020_merge"
down_revision = ("0018_team", "0019_usage")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
