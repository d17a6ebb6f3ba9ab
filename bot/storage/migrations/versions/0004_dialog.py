"""conversation: candidates offered with an answer, and the choices people make (labelled examples)

Revision ID: 0004_dialog
Revises: 0001 (its own branch, like the outbox and relay ones: it only adds to conversation_log)
"""
from alembic import op
import sqlalchemy as sa


revision = "0004_dialog"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("conversation_log", sa.Column("candidates", sa.JSON(), nullable=True))
    op.create_table(
        "labelled_choices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("chunk_id", sa.String(length=160), nullable=False),
        sa.Column("shown_chunk_id", sa.String(length=160), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation_log.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_labelled_choices_conversation_id", "labelled_choices", ["conversation_id"])
    op.create_index("ix_labelled_choices_created_at", "labelled_choices", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_labelled_choices_created_at", table_name="labelled_choices")
    op.drop_index("ix_labelled_choices_conversation_id", table_name="labelled_choices")
    op.drop_table("labelled_choices")
    with op.batch_alter_table("conversation_log") as batch:
        batch.drop_column("candidates")
