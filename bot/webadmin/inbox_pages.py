"""The team's web inbox: the questions waiting in a member's areas, one question with its thread, and claiming,
answering or saving a draft through the chat relay's own code (bot/relay/commands.py)."""

from __future__ import annotations

import re

from starlette.responses import Response

from bot import messages
from bot.privacy import mask
from bot.relay import inbox, roles
from bot.relay.commands import waiting_text
from bot.storage.models import Conversation
from bot.webadmin import auth, texts as t
from bot.webadmin.base import PREFIX, Ctx, error, page, vn_time


class InboxPages:
    def __init__(self, admin) -> None:
        self.admin = admin  # bot.webadmin.pages.WebAdmin
        self.service = admin.service
        self.db = admin.db

    def inbox(self, ctx: Ctx) -> Response:
        relay = self.service.relay
        with self.db.session() as s:
            rows = [(x.id, relay.area_name(x.area), waiting_text(inbox.waited(x.created_at)), _status(x, ctx),
                     inbox.preview(x.question)) for x in inbox.waiting_questions(s, roles.areas_of(s, ctx.user))]
        return page(ctx, "inbox.html", title=t.INBOX_TITLE, nav="inbox", rows=rows)

    def question(self, ctx: Ctx, notices: list[str] = ()) -> Response:
        esc_id = ctx.request.path_params["esc_id"]
        relay = self.service.relay
        with self.db.session() as s:
            esc = inbox.visible(s, str(esc_id), roles.areas_of(s, ctx.user))
            if esc is None:  # not in this member's areas: as if it did not exist
                return error(ctx.request, 404, t.NOT_FOUND, ctx)
            meta = t.QUESTION_META.format(area=relay.area_name(esc.area), waited=waiting_text(inbox.waited(esc.created_at)),
                                          status=_status(esc, ctx))
            if esc.due_at is not None:
                meta += " · " + t.QUESTION_DUE.format(when=vn_time(esc.due_at))
            thread = [(t.THREAD_AUTHORS.get(m.author, m.author), mask(m.text)) for m in inbox.thread(s, esc)]
            turns = [(p.number, t.TURN_OPTION.format(n=p.number, question=inbox.preview(p.question)[:80]))
                     for p in inbox.turns(s, esc)]
            view = dict(meta=meta, question=mask(esc.question), before=self._bot_before(s, esc),
                        contact=inbox.contact_for(esc, ctx.user), thread=thread, turns=turns,
                        closed=esc.status == "answered", mine=esc.status == "claimed" and esc.claimed_by == ctx.user.id)
        return page(ctx, "question.html", title=t.QUESTION_TITLE.format(id=esc_id), nav="inbox", notices=list(notices),
                    base=f"{PREFIX}/inbox/{esc_id}", **view)

    def _bot_before(self, s, esc) -> str:
        """What the bot had answered the citizen before they asked the team."""
        log = s.get(Conversation, esc.conversation_id) if esc.conversation_id else None
        if log is None:
            return t.BOT_NOT_ASKED
        chunk = self.service.chunk(log.chunk_id) if log.chunk_id else None
        if log.answered and chunk is not None:
            return t.BOT_ANSWERED.format(title=chunk.title)
        offered = [c.get("question", "") for c in (log.candidates or [])][:3]
        return t.BOT_CLARIFIED.format(titles="; ".join(offered)) if offered else t.BOT_DECLINED

    def question_action(self, ctx: Ctx) -> Response:
        """Claim, reply or save a draft through the chat relay's own code; the page says what happened in its
        own words (the relay's chat texts name chat commands)."""
        esc_id, action = str(ctx.request.path_params["esc_id"]), ctx.request.path_params["action"]
        relay = self.service.relay
        with self.db.session() as s:
            if action == "claim":
                out = relay.claim(s, ctx.user, esc_id)
                done = t.CLAIM_DONE if out[0].text.startswith(_prefix(messages.RELAY_CLAIMED)) else ""
            elif action == "savefaq":
                out = relay.save_draft(s, ctx.user, esc_id, ctx.form.get("turn", "")[:4])
                saved = re.search(r"\d+", out[0].text) if out[0].text.startswith(_prefix(messages.RELAY_SAVEFAQ_DONE)) else None
                done = t.DRAFT_SAVED.format(id=saved.group()) if saved else ""
            elif action == "reply" and ctx.form.get("text", "").strip():
                out = relay.reply(s, ctx.user, esc_id, ctx.form["text"], auth.CHANNEL, pushes=ctx.pushes)
                answered = out[0].text.startswith((_prefix(messages.RELAY_REPLY_SENT), _prefix(messages.RELAY_REPLY_QUEUED)))
                done = (t.REPLY_PUSHED if ctx.pushes else t.REPLY_KEPT) if answered else ""
            elif action == "reply":
                out, done = [], t.REPLY_EMPTY
            else:
                return error(ctx.request, 404, t.NOT_FOUND, ctx)
        return self.question(ctx, [done or m.text for m in out[:1]] if out else [done])


def _status(esc, ctx: Ctx) -> str:
    return messages.RELAY_STATUS[inbox.status_key(esc, ctx.user.id)]


def _prefix(template: str) -> str:
    """The fixed start of a chat text (before its first field), to tell which outcome the relay returned."""
    return template.split("{")[0]
