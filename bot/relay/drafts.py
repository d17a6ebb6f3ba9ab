"""Draft FAQ entries saved by the team (/luufaq): list them, approve or reject them (chat and web)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.relay.models import FaqDraft
from bot.relay.roles import audit
from bot.storage.models import parse_id

WAITING = "draft"


def waiting(s: Session, limit: int = 50) -> list[FaqDraft]:
    return list(s.scalars(select(FaqDraft).where(FaqDraft.status == WAITING).order_by(FaqDraft.id).limit(limit)))


def get_waiting(s: Session, draft_id: int | str) -> FaqDraft | None:
    row_id = parse_id(draft_id)
    draft = s.get(FaqDraft, row_id) if row_id is not None else None
    return draft if draft is not None and draft.status == WAITING else None


def decide(s: Session, draft_id: int | str, approved: bool, actor: str, entry_id: str = "") -> FaqDraft | None:
    """Mark a waiting draft approved (it became entry `entry_id`) or rejected; None when not waiting."""
    draft = get_waiting(s, draft_id)
    if draft is None:
        return None
    draft.status = "approved" if approved else "rejected"
    audit(s, actor, "faq_draft_approve" if approved else "faq_draft_reject", draft=draft.id, entry=entry_id)
    return draft
