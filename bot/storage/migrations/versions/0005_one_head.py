"""one head: joins the conversation-log branch (0004_dialog) and the merged outbox/relay/admin branch
(0004_faults_db); every later migration follows this one in a single line

Revision ID: 0005_one_head
Revises: 0004_dialog, 0004_faults_db
"""

revision = "0005_one_head"
down_revision = ("0004_dialog", "0004_faults_db")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
