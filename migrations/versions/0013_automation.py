"""automation: message templates, automation rules and automation_sends (the exactly-once
record of what a rule planned, unique on rule, appointment and appointment start).

Revision ID: 0013_automation
Revises: 0011_confirmation_status
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_automation"
down_revision = "0011_confirmation_status"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "message_templates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_message_templates_name"),
    )
    op.create_table(
        "automation_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("template_id", sa.Integer(), sa.ForeignKey("message_templates.id"),
                  nullable=False),
        sa.Column("staff", sa.String(120), nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("title_contains", sa.String(160), nullable=False),
        sa.Column("timing", sa.String(16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("send_time", sa.String(5), nullable=False),
        sa.Column("after", sa.String(10), nullable=False),
        sa.Column("status_trigger", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_automation_rules_template_id", "automation_rules", ["template_id"])
    op.create_table(
        "automation_sends",
        sa.Column("id", BIG, primary_key=True),
        sa.Column("rule_id", sa.Integer(),
                  sa.ForeignKey("automation_rules.id", ondelete="CASCADE"), nullable=False),
        sa.Column("appointment_id", sa.Integer(),
                  sa.ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False),
        sa.Column("appointment_start", sa.DateTime(), nullable=False),
        sa.Column("broadcast_id", BIG),
        sa.Column("planned_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.UniqueConstraint("appointment_id", "rule_id", "appointment_start",
                            name="uq_automation_sends_key"),
    )
    op.create_index("ix_automation_sends_rule_broadcast", "automation_sends",
                    ["rule_id", "broadcast_id"])


def downgrade():
    op.drop_table("automation_sends")
    op.drop_index("ix_automation_rules_template_id", table_name="automation_rules")
    op.drop_table("automation_rules")
    op.drop_table("message_templates")
