"""outbox: one row per chat and run (a group gets one copy); shared rate slots for several workers

Revision ID: 0004_faults_db
Revises: 0002_admin, 0002_outbox, 0003_webadmin
"""
from alembic import op
import sqlalchemy as sa


revision = "0004_faults_db"
down_revision = ("0002_admin", "0002_outbox", "0003_webadmin")
branch_labels = None
depends_on = None

NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s_%(column_1_name)s"}  # SQLite's constraint has no name


def upgrade() -> None:
    # Rows queued before, one per member of a group: keep one per (run, chat), a sent one if there is one.
    op.execute("""
        DELETE FROM outbox WHERE EXISTS (
            SELECT 1 FROM outbox AS other
            WHERE other.run_id = outbox.run_id AND other.chat_id = outbox.chat_id
              AND (CASE WHEN other.status = 'sent' THEN 0 ELSE 1 END < CASE WHEN outbox.status = 'sent' THEN 0 ELSE 1 END
                   OR (CASE WHEN other.status = 'sent' THEN 0 ELSE 1 END = CASE WHEN outbox.status = 'sent' THEN 0 ELSE 1 END
                       AND other.id < outbox.id)))
    """)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("outbox_run_id_user_id_key", "outbox", type_="unique")
        op.create_unique_constraint("uq_outbox_run_id_chat_id", "outbox", ["run_id", "chat_id"])
    else:
        with op.batch_alter_table("outbox", naming_convention=NAMES, recreate="always") as batch:
            batch.drop_constraint("uq_outbox_run_id_user_id", type_="unique")
            batch.create_unique_constraint("uq_outbox_run_id_chat_id", ["run_id", "chat_id"])
    op.create_table(
        "rate_slots",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("rate_slots")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("uq_outbox_run_id_chat_id", "outbox", type_="unique")
        op.create_unique_constraint("outbox_run_id_user_id_key", "outbox", ["run_id", "user_id"])
    else:
        with op.batch_alter_table("outbox", recreate="always") as batch:
            batch.drop_constraint("uq_outbox_run_id_chat_id", type_="unique")
            batch.create_unique_constraint("uq_outbox_run_id_user_id", ["run_id", "user_id"])
