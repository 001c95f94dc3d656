"""Lead-capture conversations (issue 15): agents, conversations with their messages, and the leads they capture.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-14
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("tenant_id", sa.String(64), primary_key=True, server_default=sa.text("'local'")),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("profile_json", sa.JSON(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
    )
    op.create_index("ix_agents_tenant_created", "agents", ["tenant_id", "created_at", "id"])
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("state_json", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        _when("last_message_at", nullable=True),
        sa.UniqueConstraint("tenant_id", "agent_id", "channel", "user_id", name="uq_conversations_user"),
    )
    op.create_index("ix_conversations_status", "conversations", ["status"])
    op.create_index("ix_conversations_tenant_created", "conversations", ["tenant_id", "created_at", "id"])
    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=True),
        sa.Column("turn", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        _when("created_at"),
        _when("send_at", nullable=True),
        _when("acknowledged_at", nullable=True),
        sa.Column("decision_json", sa.JSON(), nullable=True),
        sa.UniqueConstraint("conversation_id", "seq", name="uq_conversation_messages_seq"),
        sa.UniqueConstraint("conversation_id", "external_id", name="uq_conversation_messages_external"),
    )
    op.create_table(
        "leads",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(64), nullable=False, unique=True),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("wechat", sa.String(64), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("city", sa.String(80), nullable=True),
        sa.Column("budget", sa.String(80), nullable=True),
        sa.Column("timing", sa.String(80), nullable=True),
        sa.Column("needs_json", sa.JSON(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
    )
    op.create_index("ix_leads_tenant_created", "leads", ["tenant_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_leads_tenant_created", table_name="leads")
    op.drop_table("leads")
    op.drop_table("conversation_messages")
    op.drop_index("ix_conversations_tenant_created", table_name="conversations")
    op.drop_index("ix_conversations_status", table_name="conversations")
    op.drop_table("conversations")
    op.drop_index("ix_agents_tenant_created", table_name="agents")
    op.drop_table("agents")
