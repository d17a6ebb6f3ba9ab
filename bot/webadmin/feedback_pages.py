"""What citizens did not get a good answer to (admins only): each 👎 on a bot answer, with one step to fix it,
and the questions the bot did not answer well grouped by meaning (bot/admin/gaps.py)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.responses import Response

from bot.faq.store import ImportRejected
from bot.privacy import mask
from bot.relay import inbox
from bot.storage.models import Conversation
from bot.webadmin import texts as t
from bot.webadmin.base import TZ, Ctx, error, page


class FeedbackPages:
    def __init__(self, admin) -> None:
        self.admin = admin  # bot.webadmin.pages.WebAdmin
        self.service = admin.service
        self.db = admin.db
        self.store = admin.store

    def disliked(self, ctx: Ctx, notice: str = "") -> Response:
        """Each 👎 on a bot answer: the question, the entry it was answered with, and one step to fix it."""
        with self.db.session() as s:
            logs = s.scalars(select(Conversation).where(Conversation.feedback == -1, Conversation.answered.is_(True))
                             .order_by(Conversation.id.desc()).limit(50)).all()
            rows = []
            for log in logs:
                chunk = self.service.chunk(log.chunk_id) if log.chunk_id else None
                entry = log.chunk_id.removeprefix("faq:") if log.chunk_id.startswith("faq:") else ""
                rows.append({"id": log.id, "at": log.created_at, "question": mask(log.question), "chunk": chunk,
                             "entry": entry})
        return page(ctx, "disliked.html", title=t.DISLIKED_TITLE, nav="disliked", notice=notice, rows=rows)

    def add_phrasing(self, ctx: Ctx) -> Response:
        """One step: the 👎 question becomes another phrasing of the entry the bot chose (for a question that did mean
        that entry but was answered with too little confidence or wording); versioned like every FAQ change."""
        with self.db.session() as s:
            log = s.get(Conversation, ctx.request.path_params["log_id"])
            question, chunk_id = (mask(log.question), log.chunk_id) if log is not None else ("", "")
        entry = next((x for x in self.store.entries() if f"faq:{x['id']}" == chunk_id), None)
        if entry is None or not question.strip():
            return error(ctx.request, 404, t.NOT_FOUND, ctx)
        if question in entry.get("alternatives", []) or question == entry["question"]:
            return self.disliked(ctx, t.DISLIKED_ALREADY)
        changed = {**entry, "alternatives": [*entry.get("alternatives", []), question[:300]]}
        try:
            applied = self.store.apply({entry["id"]: changed}, ctx.actor, f"web phrasing {entry['id']}")
        except ImportRejected as exc:
            return self.disliked(ctx, "; ".join(x.message for x in exc.errors))
        return self.disliked(ctx, t.DISLIKED_ADDED.format(id=entry["id"], version=applied.version))

    def gaps(self, ctx: Ctx) -> Response:
        """The questions the bot did not answer well, grouped by meaning (bot/admin/gaps.py), each group with
        «Soạn mục FAQ» prefilled from it."""
        from bot.admin import gaps

        since_text = ctx.request.query_params.get("since", "").strip()[:10]
        try:
            since = dt.datetime.combine(dt.date.fromisoformat(since_text), dt.time(), TZ) if since_text else None
        except ValueError:
            since, since_text = None, ""
        engine = self.service.engine
        with self.service._engine_lock:  # the engine's embedder is not shared across threads
            found = gaps.gaps(self.db, engine.embedder, engine.embedder.id, since)
        relay = self.service.relay
        rows = [{"size": c.size, "label": c.label, "examples": "\n".join(c.examples),
                 "areas": ", ".join(relay.area_name(a) for a in c.areas),
                 "query": urlencode({"question": c.label, "alternatives": "\n".join(x for x in c.examples if x != c.label)})}
                for c in found[:50]]
        return page(ctx, "gaps.html", title=t.GAPS_TITLE, nav="gaps", since=since_text, rows=rows)
