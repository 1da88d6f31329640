"""Merge the secure-messaging and two-way-texting branches.

Revision ID: 0004_merge
"""

revision = "0004_merge"
down_revision = ("0003_secure", "0003_twoway")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
