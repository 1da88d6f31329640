"""Merge this session's branches (automation, usage rollup) into one line.

Revision ID: 0027_merge
Revises: 0021_auto_completed, 0022_usage_rollup
"""

revision = "0027_merge"
down_revision = ("0021_auto_completed", "0022_usage_rollup")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
