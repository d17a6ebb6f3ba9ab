"""What citizens did not get a good answer to (admins only): each 👎 on a bot or a team answer, with one step to act,
and the questions the bot did not answer well grouped by meaning (bot/admin/gaps.py)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from starlette.responses import Response

from bot.faq.store import ImportRejected
from bot.privacy import mask
from bot.storage.models import Conversation
from bot.webadmin import texts as t
from bot.vntime import TZ
from bot.webadmin.base import Ctx, error, page


class FeedbackPages:
    def __init__(self, admin) -> None:
        self.admin = admin  # bot.webadmin.pages.WebAdmin
        self.service = admin.service
        self.db = admin.db
        self.store = admin.store

    def disliked(self, ctx: Ctx, notice: str = "") -> Response:
        """Each 👎 (bot/admin/disliked.py): on a bot answer, the question, the entry it was answered with and one
        step to fix it; on a team answer, the question, the answer and a link to the question in the inbox."""
        from bot.admin.disliked import queue

        with self.db.session() as s:
            rows = []
            for row in queue(s):
                chunk = self.service.chunk(row.chunk_id) if row.chunk_id else None
                entry = row.chunk_id.removeprefix("faq:") if row.chunk_id.startswith("faq:") else ""
                rows.append({"id": row.log_id, "at": row.at, "question": row.question, "chunk": chunk, "entry": entry,
                             "team": row.team, "answer": row.answer, "escalation": row.escalation_id,
                             "area": self.service.relay.area_name(row.area) if row.area else ""})
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
