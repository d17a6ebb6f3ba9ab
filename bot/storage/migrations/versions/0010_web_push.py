"""web push: browser push subscriptions of web chat visitors, and which web messages were the chat's own replies

Revision ID: 0010_web_push
Revises: 0008_web_live
"""
from alembic import op
import sqlalchemy as sa


revision = "0010_web_push"
down_revision = "0008_web_live"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_push_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visitor", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=1024), nullable=False),
        sa.Column("p256dh", sa.String(length=100), nullable=False),
        sa.Column("auth", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_message_id", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("endpoint"),
    )
    op.create_index("ix_web_push_subscriptions_visitor", "web_push_subscriptions", ["visitor"])
    # replies to the visitor's own request are never pushed; rows before this migration count as not replies
    with op.batch_alter_table("web_messages") as batch:
        batch.add_column(sa.Column("reply", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("web_messages") as batch:
        batch.drop_column("reply")
    op.drop_index("ix_web_push_subscriptions_visitor", table_name="web_push_subscriptions")
    op.drop_table("web_push_subscriptions")
