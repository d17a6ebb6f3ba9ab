"""FAQ versions: change sets and the entries each one changed

Revision ID: 0002_admin
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0002_admin"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "faq_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=96), nullable=False),
        sa.Column("summary", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "faq_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["faq_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_faq_changes_version_id", "faq_changes", ["version_id"])
    op.create_index("ix_faq_changes_entry_id", "faq_changes", ["entry_id"])


def downgrade() -> None:
    op.drop_table("faq_changes")
    op.drop_table("faq_versions")
