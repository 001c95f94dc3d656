"""Rendered creatives.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "creatives",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("brief_id", sa.String(64), nullable=True),
        sa.Column("campaign_id", sa.String(64), nullable=True),
        sa.Column("script_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("body_json", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_creatives_brief_id", "creatives", ["brief_id"])
    op.create_index("ix_creatives_campaign_id", "creatives", ["campaign_id"])


def downgrade() -> None:
    op.drop_table("creatives")
