"""channel tokens: the Zalo Official Account's rotating OAuth pair (single-use refresh tokens)

Revision ID: 0009_zalo_oa
Revises: 0006_contests (linked into the one line after the contests migration)
"""
from alembic import op
import sqlalchemy as sa


revision = "0009_zalo_oa"
down_revision = "0006_contests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_tokens",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("channel", "account"),
    )


def downgrade() -> None:
    op.drop_table("channel_tokens")
