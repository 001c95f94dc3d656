"""Ranking decisions with their reasons, and versions of trained predictors.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ranking_decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("creative_id", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(128), nullable=True),
        sa.Column("campaign_id", sa.String(64), nullable=True),
        sa.Column("model_version", sa.String(128), nullable=True),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("baseline", sa.Float, nullable=False),
        sa.Column("uncertainty", sa.Float, nullable=False),
        sa.Column("scores_json", sa.JSON, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ranking_decisions_creative_id", "ranking_decisions", ["creative_id"])
    op.create_index("ix_ranking_decisions_batch_id", "ranking_decisions", ["batch_id"])
    op.create_table(
        "model_versions",
        sa.Column("version", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("metrics_json", sa.JSON, nullable=False),
        sa.Column("n_train", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_model_versions_kind", "model_versions", ["kind", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_model_versions_kind", table_name="model_versions")
    op.drop_table("model_versions")
    op.drop_index("ix_ranking_decisions_batch_id", table_name="ranking_decisions")
    op.drop_index("ix_ranking_decisions_creative_id", table_name="ranking_decisions")
    op.drop_table("ranking_decisions")
