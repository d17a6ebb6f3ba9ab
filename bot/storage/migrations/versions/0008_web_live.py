"""web chat as a live channel: every message to and from a web visitor, for its history and live stream

Revision ID: 0008_web_live
Revises: 0007_handoff (briefed as 0005_one_head; relinked after merging main)
"""
from alembic import op
import sqlalchemy as sa


revision = "0008_web_live"
down_revision = "0007_handoff"  # relinked after merging main (briefed: 0005_one_head)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("buttons", sa.JSON(), nullable=True),
        sa.Column("quiz", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_messages_chat_id_id", "web_messages", ["chat_id", "id"])
    op.create_index("ix_web_messages_created_at", "web_messages", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_web_messages_created_at", table_name="web_messages")
    op.drop_index("ix_web_messages_chat_id_id", table_name="web_messages")
    op.drop_table("web_messages")
