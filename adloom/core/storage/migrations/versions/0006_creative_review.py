"""The advertiser's review of a creative (approved / rejected before launch), as a column to filter on; the
review itself (decision, reason, when) is kept in the creative's JSON body. Existing creatives are unreviewed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("creatives") as batch:
        batch.add_column(sa.Column("review", sa.String(16), nullable=True))
    op.create_index("ix_creatives_review", "creatives", ["review"])


def downgrade() -> None:
    op.drop_index("ix_creatives_review", table_name="creatives")
    with op.batch_alter_table("creatives") as batch:
        batch.drop_column("review")
