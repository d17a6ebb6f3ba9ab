"""handoff: follow-up codes, the callback number a citizen gave (shown to the member who took the question), due times, reminders and escalation upwards, satisfaction, the answer turn of
a draft, and the cache of question vectors the gaps report clusters

Revision ID: 0007_handoff
Revises: 0009_zalo_oa
"""
from alembic import op
import sqlalchemy as sa


revision = "0007_handoff"
down_revision = "0009_zalo_oa"  # relinked after merging main (was 0005_one_head, as briefed)
branch_labels = None
depends_on = None

ESCALATION_COLUMNS = (
    ("code", sa.String(length=8)),
    ("origin_area", sa.String(length=128)),
    ("due_at", sa.DateTime(timezone=True)),
    ("reminded_at", sa.DateTime(timezone=True)),
    ("overdue_at", sa.DateTime(timezone=True)),
    ("first_answered_at", sa.DateTime(timezone=True)),
    ("rating", sa.Integer()),
    ("rated_at", sa.DateTime(timezone=True)),
    ("contact", sa.String(length=200)),
)


def upgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        for name, kind in ESCALATION_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
        batch.create_index("ix_escalations_code", ["code"], unique=True)
        batch.create_index("ix_escalations_due_at", ["due_at"])
    with op.batch_alter_table("faq_drafts") as batch:
        batch.add_column(sa.Column("answer_message_id", sa.Integer(), nullable=True))
    op.create_table(
        "question_vectors",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("embedder", sa.String(length=128), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", "embedder"),
    )


def downgrade() -> None:
    op.drop_table("question_vectors")
    with op.batch_alter_table("faq_drafts") as batch:
        batch.drop_column("answer_message_id")
    with op.batch_alter_table("escalations") as batch:
        batch.drop_index("ix_escalations_due_at")
        batch.drop_index("ix_escalations_code")
        for name, _ in reversed(ESCALATION_COLUMNS):
            batch.drop_column(name)
