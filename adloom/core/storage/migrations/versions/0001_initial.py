"""Initial tables: creative library, briefs, scripts, jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "library_items",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("industry", sa.String(32), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("aspect", sa.String(8), nullable=False),
        sa.Column("hook_type", sa.String(32), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("impressions", sa.Integer, nullable=False),
        sa.Column("plays_3s", sa.Integer, nullable=False),
        sa.Column("clicks", sa.Integer, nullable=False),
        sa.Column("conversions", sa.Integer, nullable=False),
        sa.Column("spend", sa.Float, nullable=False),
        sa.Column("script_json", sa.JSON, nullable=False),
        sa.Column("media_path", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_library_filters", "library_items", ["industry", "language", "platform", "aspect"])
    op.create_table(
        "briefs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("campaign_id", sa.String(64), nullable=True),
        sa.Column("industry", sa.String(32), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("body_json", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_briefs_campaign_id", "briefs", ["campaign_id"])
    op.create_table(
        "scripts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("brief_id", sa.String(64), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("industry", sa.String(32), nullable=False),
        sa.Column("hook_type", sa.String(32), nullable=False),
        sa.Column("angle", sa.String(32), nullable=False),
        sa.Column("path", sa.String(16), nullable=False),
        sa.Column("backend", sa.String(32), nullable=False),
        sa.Column("body_json", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_scripts_brief_id", "scripts", ["brief_id"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("params_json", sa.JSON, nullable=False),
        sa.Column("result_json", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_jobs_kind", "jobs", ["kind"])
    op.create_index("ix_jobs_status", "jobs", ["status"])


def downgrade() -> None:
    for table in ("jobs", "scripts", "briefs", "library_items"):
        op.drop_table(table)
