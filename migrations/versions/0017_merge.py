"""Merge the sessions, automation, confirmation, import and provider branches into one line.

Revision ID: 0017_merge
Revises: 0012_sessions, 0013_automation, 0014_confirm_flags, 0015_import, 0016_provider
"""

revision = "0017_merge"
down_revision = ("0012_sessions", "0013_automation", "0014_confirm_flags", "0015_import",
                 "0016_provider")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
