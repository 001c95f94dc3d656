"""The batch API: tenants and their keys, batches and items (the job table), idempotency keys, webhooks, uploads;
a tenant id on every row the API can reach.

Existing rows (and everything the CLI writes) belong to the tenant "local". Tables whose ids come from users
(library items, feedback events, daily feedback) get the tenant into their primary key, so two tenants may use
the same id without touching each other's rows; those three are rebuilt (copy, drop, rename), which works the
same on SQLite and PostgreSQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_LOCAL = sa.text("'local'")


def _tenant_column(primary_key: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("tenant_id", sa.String(64), nullable=False, server_default=_LOCAL, primary_key=primary_key)


def _rebuild(table: str, columns: list[sa.Column], keep: list[str], indexes: dict[str, list[str]]) -> None:  # type: ignore[type-arg]
    """Create ``table`` anew with ``columns`` (the tenant first, in the key), copy ``keep`` over, swap names."""
    new = f"{table}_v5"
    op.create_table(new, _tenant_column(primary_key=True), *columns)
    cols = ", ".join(keep)
    op.execute(f"INSERT INTO {new} (tenant_id, {cols}) SELECT 'local', {cols} FROM {table}")
    for name in _OLD_INDEXES[table]:
        op.drop_index(name, table_name=table)
    op.drop_table(table)
    op.rename_table(new, table)
    if op.get_bind().dialect.name == "postgresql":  # the key keeps its name through a rename; SQLite's has none
        op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {new}_pkey TO {table}_pkey")
    for name, on in indexes.items():
        op.create_index(name, table, on)


_OLD_INDEXES = {
    "library_items": ["ix_library_filters"],
    "feedback_events": ["ix_feedback_events_key"],
    "feedback_daily": [],
}

_LIBRARY = [
    "id", "title", "industry", "platform", "language", "aspect", "hook_type", "source", "impressions", "plays_3s",
    "clicks", "conversions", "spend", "script_json", "media_path", "created_at",
]  # fmt: skip
_EVENTS = [
    "event_id", "creative_id", "kind", "ts", "day", "count", "value", "placement", "segment", "status", "reason",
    "received_at",
]  # fmt: skip
_DAILY = [
    "creative_id", "day", "impressions", "plays_3s", "completions", "clicks", "conversions", "spend", "updated_at",
]  # fmt: skip


def upgrade() -> None:
    for table in ("briefs", "scripts", "jobs", "creatives", "ranking_decisions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(_tenant_column())
        op.create_index(f"ix_{table}_tenant_id", table, ["tenant_id"])

    _rebuild(
        "library_items",
        [
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
        ],
        _LIBRARY,
        {"ix_library_filters": ["industry", "language", "platform", "aspect"]},
    )
    _rebuild(
        "feedback_events",
        [
            sa.Column("event_id", sa.String(128), primary_key=True),
            sa.Column("creative_id", sa.String(64), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
            sa.Column("day", sa.Date, nullable=False),
            sa.Column("count", sa.Integer, nullable=False),
            sa.Column("value", sa.Float, nullable=False),
            sa.Column("placement", sa.String(64), nullable=False),
            sa.Column("segment", sa.String(64), nullable=False),
            sa.Column("status", sa.String(8), nullable=False),
            sa.Column("reason", sa.Text, nullable=True),
            sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        ],
        _EVENTS,
        {"ix_feedback_events_key": ["tenant_id", "creative_id", "day", "status"]},
    )
    _rebuild(
        "feedback_daily",
        [
            sa.Column("creative_id", sa.String(64), primary_key=True),
            sa.Column("day", sa.Date, primary_key=True),
            sa.Column("impressions", sa.Integer, nullable=False),
            sa.Column("plays_3s", sa.Integer, nullable=False),
            sa.Column("completions", sa.Integer, nullable=False),
            sa.Column("clicks", sa.Integer, nullable=False),
            sa.Column("conversions", sa.Integer, nullable=False),
            sa.Column("spend", sa.Float, nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        ],
        _DAILY,
        {},
    )

    op.create_table(
        "tenants",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("quotas_json", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"])
    op.create_table(
        "batches",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("brief_id", sa.String(64), nullable=True),
        sa.Column("body_json", sa.JSON, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("completed", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_batches_status", "batches", ["status"])
    op.create_index("ix_batches_tenant_created", "batches", ["tenant_id", "created_at", "id"])
    op.create_table(
        "batch_items",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("custom_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("request_json", sa.JSON, nullable=False),
        sa.Column("result_json", sa.JSON, nullable=True),
        sa.Column("error_json", sa.JSON, nullable=True),
        sa.Column("creative_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("batch_id", "custom_id", name="uq_batch_items_custom_id"),
    )
    op.create_index("ix_batch_items_batch_seq", "batch_items", ["batch_id", "seq"])
    op.create_index("ix_batch_items_lease", "batch_items", ["status", "lease_expires_at"])
    op.create_index("ix_batch_items_tenant_created", "batch_items", ["tenant_id", "created_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response_json", sa.JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("events_json", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_webhook_endpoints_tenant_id", "webhook_endpoints", ["tenant_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("endpoint_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload_json", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_webhook_deliveries_tenant_id", "webhook_deliveries", ["tenant_id"])
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_uploads_tenant_id", "uploads", ["tenant_id"])


def downgrade() -> None:
    raise NotImplementedError("0005 adds tenants to primary keys; restore a backup taken before upgrading instead")
