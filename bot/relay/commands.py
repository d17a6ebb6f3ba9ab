"""Chat commands and buttons of the relay, called by the conversation service.

Every command checks the sender's role first; team and admin commands that show questions or grant
rights only work in a private chat. Messages for other people (a team member's answer to a citizen,
a new-question notice) are OutgoingMessages addressed by `chat_id` on the sender's channel, and pushed
on the person's own channel otherwise (bot/relay/delivery.py); a team member's answer to a web visitor is
stored in the web chat and shown live (bot/channels/web_messages.py); a person on a channel that does
not run here gets the answer on their next message (see inbox.undelivered).
"""

from __future__ import annotations

import re
from typing import Callable

from sqlalchemy.orm import Session

from bot import messages
from bot.areas import ALL, Area, area_code
from bot.channels import registry, web_messages
from bot.chat.commands import CommandTable, handles
from bot.chat.numbering import numbered, remember
from bot.chat.types import Button, IncomingMessage, OutgoingMessage
from bot.faq.store import FaqStore
from bot.knowledge.models import Chunk
from bot.relay import inbox, roles
from bot.relay.faq_chat import FaqChat
from bot.relay.cards import answer_card
from bot.relay.delivery import Delivery, Notice
from bot.relay.sla import Schedule, when_text
from bot.relay.models import RelayMessage
from bot.storage.models import EscalationStatus as Status, Chat, Escalation, User
from bot.textnorm import fold

BUTTONS = {"cl", "ro", "cd", "ra"}  # claim, citizen's follow-up, answer card, citizen's rating of a team answer
SEARCH_RESULTS = 5
FOLLOWUP = re.compile(r"#([0-9]{1,9})\s+(.+)", re.S)
TRACK_LOOKUPS, TRACK_WINDOW = 20, 3600.0  # follow-up codes looked up per person an hour (codes are not guessable)


class Relay:
    def __init__(
        self, search: Callable[[str, int], list[tuple[Chunk, float]]], chunk: Callable[[str], Chunk | None], areas: list[Area],
        bot_url: str = "",
        faq_store: FaqStore | None = None,
        delivery: Delivery | None = None,
        schedule: Schedule | None = None,
        guard=None,
    ) -> None:
        self.delivery = delivery  # pushes to chats on other channels (None: kept for the citizen's next message)
        self.schedule = schedule or Schedule()
        self.track_guard = guard  # a FloodGuard-like .allow(key) for /theodoi lookups; None: unlimited
        self.search = search  # thread-safe knowledge-base search: (query, k) -> [(chunk, score)]
        self.bot_url = bot_url
        self.chunk = chunk  # a chunk by id, as the engine serves it now (live FAQ edits included)
        self._area_names = {a.code: a.name for a in areas} | {ALL: messages.BUTTON_ALL_AREAS.lower()}
        self.areas = areas
        self.faq = FaqChat(faq_store, self.area_name)  # the admins' /themfaq conversation and draft approval

    # -- entry points (from ConversationService) ---------------------------------------------------

    def command(self, s: Session, msg: IncomingMessage, user: User, chat: Chat) -> list[OutgoingMessage]:
        declared = COMMANDS.find(msg.command)
        if not declared.allows(roles.role_of(s, user)):
            return [OutgoingMessage(messages.RELAY_ADMIN_ONLY if declared.role == "admin" else messages.RELAY_TEAM_ONLY)]
        if msg.chat_type != "private" and not declared.groups:
            return [OutgoingMessage(messages.RELAY_PRIVATE_ONLY)]
        return getattr(self, declared.handler)(s, msg, user, msg.text.strip(), chat)

    def button(self, s: Session, kind: str, arg: str, msg: IncomingMessage, user: User, chat: Chat) -> list[OutgoingMessage]:
        if kind == "ra":
            return self.rate(s, arg, user)
        if kind == "ro":
            esc = self._own(s, arg, user)
            if esc is None:
                return [OutgoingMessage(messages.RELAY_FOLLOWUP_NOT_FOUND.format(id=arg[:12]))]
            chat.state = {"followup": esc.id}
            return [OutgoingMessage(messages.RELAY_FOLLOWUP_ASK.format(id=esc.id))]
        if roles.role_of(s, user) == "citizen":
            return [OutgoingMessage(messages.RELAY_TEAM_ONLY)]
        if kind == "cl":
            return self._claim(s, msg, user, arg, chat) if msg.chat_type == "private" else [OutgoingMessage(messages.RELAY_PRIVATE_ONLY)]
        chunk = self.chunk(arg)
        return [OutgoingMessage(answer_card(chunk, self.bot_url))] if chunk else [OutgoingMessage(messages.HELP)]

    def help(self, s: Session, user: User) -> str:
        role = roles.role_of(s, user)
        admin = messages.RELAY_ADMIN_HELP + messages.FAQ_ADMIN_HELP if role == "admin" else ""
        return (messages.RELAY_TEAM_HELP if role != "citizen" else "") + admin

    def escalated(self, s: Session, esc: Escalation, channel: str) -> list[OutgoingMessage]:
        """Notices of a new question for the on-duty team members of its area, on every channel they use (the
        citizen's `channel` in the reply, the others pushed: bot/relay/delivery.py)."""
        text = messages.RELAY_NEW_QUESTION.format(id=esc.id, area=self.area_name(esc.area), question=inbox.preview(esc.question),
                                                  due=when_text(esc.due_at) if esc.due_at else "")
        members = inbox.on_duty_members(s, esc.area, None, exclude=esc.user_id)
        claim_button = [[Button(messages.RELAY_BUTTON_CLAIM, f"cl:{esc.id}")]]
        return self._tell(s, members, channel, OutgoingMessage(text, claim_button))

    def followup(self, s: Session, esc_id: str, text: str, user: User) -> list[OutgoingMessage]:
        """A citizen asks more about their own question: it reopens, and its handler (or the team) hears."""
        esc = self._own(s, esc_id, user)
        if esc is None:
            return [OutgoingMessage(messages.RELAY_FOLLOWUP_NOT_FOUND.format(id=esc_id[:12]))]
        inbox.reopen(s, esc, user, text[:4000])
        notice = messages.RELAY_REOPENED.format(id=esc.id, area=self.area_name(esc.area), question=inbox.preview(text))
        handler = s.get(User, esc.claimed_by) if esc.claimed_by else None
        if handler is not None and inbox.notifiable(handler) and roles.role_of(s, handler) != "citizen":
            members = [handler]
        else:
            members = inbox.on_duty_members(s, esc.area, None, exclude=user.id)
        ack = OutgoingMessage(messages.RELAY_FOLLOWUP_SENT.format(id=esc.id))
        return [ack] + self._tell(s, members, user.channel, OutgoingMessage(notice))

    def _tell(self, s: Session, members: list[User], here: str, message: OutgoingMessage) -> list[OutgoingMessage]:
        """`message` for each member: in the reply for those on `here` (the channel being answered); pushed on
        their own channel for the others, once this transaction commits (when that channel runs here; else they
        find the question in /hopthu and the web inbox)."""
        notices = [Notice(m.channel, m.external_id, message) for m in members if m.channel != here]
        if notices and self.delivery is not None:
            self.delivery.push_after_commit(s, notices)
        return [OutgoingMessage(message.text, message.buttons, chat_id=m.external_id) for m in members if m.channel == here]

    def followup_in(self, s: Session, text: str, user: User) -> list[OutgoingMessage] | None:
        """`/canbo #12 more words`: a follow-up to question 12; None for a new question."""
        match = FOLLOWUP.fullmatch(text)
        return self.followup(s, match[1], match[2], user) if match else None

    def pending(self, s: Session, user: User) -> list[OutgoingMessage]:
        """Answers from a team member on another channel, handed over now."""
        out = []
        for row in inbox.undelivered(s, user):
            if row.author == "notice":
                out.append(OutgoingMessage(row.text))
            else:
                out.append(self._answer_message(s.get(Escalation, row.escalation_id), row.text))
        return out

    # -- citizens: follow a question by its code, rate a team answer -----------------------------------

    @handles("track", "theodoi", role="citizen")
    def _track(self, s: Session, msg, user: User, arg: str, chat: Chat) -> list[OutgoingMessage]:
        if not arg:
            return [OutgoingMessage(messages.TRACK_USAGE)]
        if self.track_guard is not None and not self.track_guard.allow(f"{user.channel}:{user.external_id}"):
            return [OutgoingMessage(messages.TRACK_TOO_MANY)]
        esc = inbox.by_code(s, arg)
        if esc is None:
            return [OutgoingMessage(messages.TRACK_NOT_FOUND.format(code=arg.split()[0][:12]))]
        return [OutgoingMessage(self.status_text(s, esc))]

    def status_text(self, s: Session, esc: Escalation) -> str:
        """Exactly one of «đang chờ», «đã nhận» (who, by role) or «đã trả lời» (with the answer)."""
        area = self.area_name(esc.area)
        if esc.status == Status.ANSWERED:
            answer = next((m.text for m in reversed(inbox.thread(s, esc)) if m.author == "team"), "")
            return messages.TRACK_ANSWERED.format(code=esc.code, answer=answer)
        if esc.status == Status.CLAIMED and esc.claimed_by:
            handler = s.get(User, esc.claimed_by)
            who = messages.RELAY_ROLE_NAMES.get(roles.role_of(s, handler) if handler else "team", messages.RELAY_ROLE_NAMES["team"])
            return messages.TRACK_CLAIMED.format(code=esc.code, who=who, area=area)
        due = messages.TRACK_DUE.format(when=when_text(esc.due_at)) if esc.due_at and esc.overdue_at is None else ""
        moved = messages.TRACK_MOVED_UP.format(to=area) if esc.overdue_at is not None else ""
        return messages.TRACK_WAITING.format(code=esc.code, area=area) + due + moved

    def rate(self, s: Session, arg: str, user: User) -> list[OutgoingMessage]:
        """👍/👎 on a team answer, by the citizen who asked; a second tap changes the rating."""
        esc_id, _, value = arg.partition(":")
        esc = self._own(s, esc_id, user)
        if esc is None or value not in ("1", "-1") or esc.first_answered_at is None:
            return [OutgoingMessage(messages.HELP)]
        esc.rating, esc.rated_at = int(value), inbox.utcnow()
        if value == "1":
            return [OutgoingMessage(messages.RATING_THANKS)]
        return [OutgoingMessage(messages.RATING_SORRY.format(id=esc.id), [[Button(messages.RELAY_BUTTON_FOLLOWUP, f"ro:{esc.id}")]])]

    # -- team commands -----------------------------------------------------------------------------

    @handles("inbox", "hopthu", role="team", groups=False)
    def _inbox(self, s: Session, msg, user: User, arg: str, chat: Chat) -> list[OutgoingMessage]:
        waiting = inbox.waiting_questions(s, roles.areas_of(s, user))
        if not waiting:
            return [OutgoingMessage(messages.RELAY_INBOX_EMPTY)]
        lines = [messages.RELAY_INBOX_HEADER.format(count=len(waiting))]
        for esc in waiting:
            status = inbox.status_key(esc, user.id)
            question = inbox.preview(esc.question)
            followups = [m for m in inbox.thread(s, esc) if m.author == "citizen"]
            if followups:
                question += f"\n{messages.RELAY_FOLLOWUP_MARK}: {inbox.preview(followups[-1].text)}"
            lines.append(messages.RELAY_INBOX_ITEM.format(
                id=esc.id, area=self.area_name(esc.area), waited=waiting_text(inbox.waited(esc.created_at)),
                status=messages.RELAY_STATUS[status], question=question,
            ))
        lines.append(messages.RELAY_INBOX_FOOTER)
        return [OutgoingMessage("\n\n".join(lines))]

    @handles("claim", "nhan", role="team", groups=False)
    def _claim(self, s: Session, msg, user: User, arg: str, chat: Chat) -> list[OutgoingMessage]:
        if not arg:
            return [OutgoingMessage(messages.RELAY_CLAIM_USAGE)]
        return self.claim(s, user, arg.split()[0])

    def claim(self, s: Session, user: User, esc_id: str) -> list[OutgoingMessage]:
        """`/nhan`, also for the web inbox: take a question of the member's areas."""
        esc, refusal = self._workable(s, esc_id, user)
        if refusal:
            return [refusal]
        inbox.claim(esc, user)
        text = messages.RELAY_CLAIMED.format(id=esc.id, area=self.area_name(esc.area), question=inbox.preview(esc.question))
        return [OutgoingMessage(text)]

    @handles("reply", "traloi", role="team", groups=False)
    def _reply(self, s: Session, msg: IncomingMessage, user: User, arg: str, chat: Chat) -> list[OutgoingMessage]:
        esc_id, _, text = arg.partition(" ")
        if not esc_id or not text.strip():
            return [OutgoingMessage(messages.RELAY_REPLY_USAGE)]
        return self.reply(s, user, esc_id, text, msg.channel)

    def reply(self, s: Session, user: User, esc_id: str, text: str, channel: str, pushes: list[Notice] | None = None) -> list[OutgoingMessage]:
        """`/traloi`, also for the web inbox: the acknowledgement, then the answer addressed to the citizen's
        chat when `channel` (the one sending it) is the citizen's. Else `deliver` takes it to the citizen's
        channel; `pushes`: a list to put that push in for the caller to make (the web inbox), instead of after commit."""
        esc, refusal = self._workable(s, esc_id, user)
        if refusal:
            return [refusal]
        relayed = inbox.reply(s, esc, user, text.strip()[:4000], channel)
        if relayed.now:
            answer = self._answer_message(esc, text.strip()[:4000], relayed.chat_external_id)
            return [OutgoingMessage(messages.RELAY_REPLY_SENT.format(id=esc.id)), answer]
        pushed = self.deliver(s, esc, relayed, text.strip()[:4000], pushes)
        return [OutgoingMessage((messages.RELAY_REPLY_SENT if pushed else messages.RELAY_REPLY_QUEUED).format(id=esc.id))]

    def deliver(self, s: Session, esc: Escalation, relayed: inbox.Relayed, text: str, pushes: list[Notice] | None = None) -> bool:
        """The one way a team answer reaches a citizen on another channel than the answering one: pushed through
        the citizen's channel when it runs here (after this transaction commits, or by the caller via `pushes`);
        the relay row stays undelivered until the platform took it, so their next message brings it otherwise."""
        if relayed.channel == web_messages.CHANNEL:  # a web visitor: in the chat's history and on its open pages now
            web_messages.deliver(s, esc.chat_id, self._answer_message(esc, text, ""), "team")
            s.get(RelayMessage, relayed.row_id).delivered = True
            return True
        if self.delivery is None or not self.delivery.can_push(relayed.channel):
            return False
        message = self._answer_message(esc, text, relayed.chat_external_id)
        if not self.delivery.buttons(relayed.channel):  # numbered choices, remembered by the citizen's chat
            message, choices = numbered(message)
            chat = s.get(Chat, esc.chat_id)
            if choices:
                chat.state = remember(chat.state, choices)
        notice = Notice(relayed.channel, relayed.chat_external_id, message, relayed.row_id)
        if pushes is not None:
            pushes.append(notice)
        else:
            self.delivery.push_after_commit(s, [notice])
        return True

    @handles("savefaq", "luufaq", role="team", groups=False)
    def _savefaq(self, s: Session, msg, user: User, arg: str, chat: Chat) -> list[OutgoingMessage]:
        parts = arg.split()
        if not parts:
            return [OutgoingMessage(messages.RELAY_SAVEFAQ_USAGE)]
        return self.save_draft(s, user, parts[0], parts[1] if len(parts) > 1 else "")

    def save_draft(self, s: Session, user: User, esc_id: str, turn: str = "") -> list[OutgoingMessage]:
        """`/luufaq 12 [turn]`, also for the web inbox: one question with the answer that followed it, as a draft
        FAQ entry. A thread with several turns asks which one (the team member chooses)."""
        esc = inbox.visible(s, esc_id, roles.areas_of(s, user))
        if esc is None:
            return [OutgoingMessage(messages.RELAY_NOT_FOUND.format(id=esc_id.lstrip("#")[:12]))]
        pairs = inbox.turns(s, esc)
        if not pairs:
            return [OutgoingMessage(messages.RELAY_SAVEFAQ_NO_ANSWER.format(id=esc.id))]
        chosen = pairs[0] if len(pairs) == 1 and not turn else next((p for p in pairs if str(p.number) == turn.strip()), None)
        if chosen is None:
            lines = [messages.RELAY_SAVEFAQ_WHICH.format(id=esc.id)]
            lines += [messages.RELAY_SAVEFAQ_TURN.format(n=p.number, question=inbox.preview(p.question)[:160],
                                                         answer=inbox.preview(p.answer.text)[:160]) for p in pairs]
            lines.append(messages.RELAY_SAVEFAQ_PICK.format(id=esc.id, n=pairs[-1].number))
            return [OutgoingMessage("\n\n".join(lines))]
        draft = inbox.save_draft(s, esc, user, chosen)
        return [OutgoingMessage(messages.RELAY_SAVEFAQ_DONE.format(draft=draft.id, id=esc.id))]

    @handles("search", "timkiem", role="team")
    def _search(self, s: Session, msg, user: User, arg: str, chat: Chat) -> list[OutgoingMessage]:
        if not any(ch.isalnum() for ch in arg):
            return [OutgoingMessage(messages.RELAY_SEARCH_USAGE)]
        hits = self.search(arg, SEARCH_RESULTS)
        if not hits:
            return [OutgoingMessage(messages.RELAY_SEARCH_EMPTY.format(query=arg[:60]))]
        lines = [messages.RELAY_SEARCH_HEADER.format(query=arg[:60])]
        lines += [messages.RELAY_SEARCH_ITEM.format(n=i, title=c.title, source=c.source.title) for i, (c, _) in enumerate(hits, 1)]
        lines.append(messages.RELAY_SEARCH_FOOTER)
        rows = [[Button(f"{i}. {c.title[:60]}", f"cd:{c.id}")] for i, (c, _) in enumerate(hits, 1) if len(c.id) <= 61]
        return [OutgoingMessage("\n".join(lines), rows)]

    @handles("card", "thetraloi", role="team")
    def _card(self, s: Session, msg, user: User, arg: str, chat: Chat) -> list[OutgoingMessage]:
        hits = self.search(arg, 1) if any(ch.isalnum() for ch in arg) else []
        if not hits:
            return [OutgoingMessage(messages.RELAY_CARD_USAGE)]
        return [OutgoingMessage(answer_card(hits[0][0], self.bot_url))]

    @handles("duty", "truc", role="team", groups=False)
    def _duty(self, s: Session, msg, user: User, arg: str, chat: Chat) -> list[OutgoingMessage]:
        word = fold(arg)
        on = word in ("bat", "on", "co") or (word not in ("tat", "off", "nghi") and not roles.on_duty(s, user))
        roles.set_duty(s, user, on)
        return [OutgoingMessage(messages.RELAY_DUTY_ON if on else messages.RELAY_DUTY_OFF)]

    # -- admin commands ----------------------------------------------------------------------------

    @handles("invite", "moi", role="admin", groups=False)
    def _invite(self, s: Session, msg, user: User, arg: str, chat: Chat) -> list[OutgoingMessage]:
        role, _, where = arg.partition(" ")
        role = role.lower()
        if role not in roles.ROLES:
            return [OutgoingMessage(messages.RELAY_INVITE_USAGE)]
        area = area_code(self.areas, where)
        if area is None:
            return [OutgoingMessage(messages.RELAY_AREA_NOT_FOUND.format(query=where[:60]))]
        code = roles.create_invite(s, role, area, roles.actor_of(user))
        hours = int(roles.INVITE_TTL.total_seconds() // 3600)
        area = ALL if role == "admin" else area
        text = messages.RELAY_INVITE_CREATED.format(role=messages.RELAY_ROLE_NAMES[role], area=self.area_name(area), code=code, hours=hours)
        return [OutgoingMessage(text)]

    @handles("join", "thamgia", groups=False)
    def _join(self, s: Session, msg, user: User, arg: str, chat: Chat) -> list[OutgoingMessage]:
        if not arg:
            return [OutgoingMessage(messages.RELAY_JOIN_USAGE)]
        if msg.channel in roles.NO_ROLE_CHANNELS:
            labels = [registry.get(n).label for n in registry.team_channels()]
            return [OutgoingMessage(messages.RELAY_JOIN_WRONG_CHANNEL.format(channels=" hoặc ".join(labels)))]
        invite = roles.redeem(s, arg.split()[0], user)
        if invite is None:
            return [OutgoingMessage(messages.RELAY_JOIN_BAD)]
        return [OutgoingMessage(messages.RELAY_JOIN_DONE.format(role=messages.RELAY_ROLE_NAMES[invite.role], area=self.area_name(invite.area)))]

    @handles("revoke", "thuhoi", role="admin", groups=False)
    def _revoke(self, s: Session, msg, user: User, arg: str, chat: Chat) -> list[OutgoingMessage]:
        parts = arg.split()
        channel, _, external_id = (parts[0] if parts else "").partition(":")
        role = parts[1].lower() if len(parts) > 1 else None
        area = area_code(self.areas, parts[2]) if len(parts) > 2 else None
        if not external_id or (role and role not in roles.ROLES) or (len(parts) > 2 and area is None):
            return [OutgoingMessage(messages.RELAY_REVOKE_USAGE.format(example=registry.team_channels()[0]))]
        target = roles.find_user(s, channel, external_id)
        if target is not None and target.id == user.id:
            return [OutgoingMessage(messages.RELAY_REVOKE_SELF)]
        removed = roles.revoke(s, target, role, area, roles.actor_of(user)) if target else 0
        label = f"{channel}:{external_id}"[:80]
        if not removed:
            return [OutgoingMessage(messages.RELAY_REVOKE_NONE.format(user=label))]
        return [OutgoingMessage(messages.RELAY_REVOKE_DONE.format(count=removed, user=label))]

    @handles("roles", "vaitro", role="admin", groups=False)
    def _roles(self, s: Session, msg, user: User, arg: str, chat: Chat) -> list[OutgoingMessage]:
        rows = roles.grants(s)
        if not rows:
            return [OutgoingMessage(messages.RELAY_ROLES_EMPTY)]
        lines = [messages.RELAY_ROLES_HEADER] + [
            messages.RELAY_ROLES_ITEM.format(
                user=roles.actor_of(u), name=f"({u.display_name})" if u.display_name else "",
                role=messages.RELAY_ROLE_NAMES[g.role], area=self.area_name(g.area), duty="" if g.on_duty else messages.RELAY_OFF_DUTY,
            )
            for u, g in rows
        ]
        return [OutgoingMessage("\n".join(lines))]

    @handles("addfaq", "themfaq", role="admin", groups=False)
    def _addfaq(self, s: Session, msg: IncomingMessage, user: User, arg: str, chat: Chat) -> list[OutgoingMessage]:
        return self.faq.start(s, user, chat)

    @handles("drafts", "banthao", role="admin", groups=False)
    def _drafts(self, s: Session, msg, user: User, arg: str, chat: Chat) -> list[OutgoingMessage]:
        return self.faq.list_drafts(s)

    @handles("approvefaq", "duyetfaq", role="admin", groups=False)
    def _approvefaq(self, s: Session, msg, user: User, arg: str, chat: Chat) -> list[OutgoingMessage]:
        return self.faq.start(s, user, chat, arg.split()[0]) if arg else [OutgoingMessage(messages.DRAFT_USAGE)]

    @handles("rejectfaq", "tuchoifaq", role="admin", groups=False)
    def _rejectfaq(self, s: Session, msg, user: User, arg: str, chat: Chat) -> list[OutgoingMessage]:
        return self.faq.reject(s, user, arg.split()[0] if arg else "")

    def faq_button(self, s: Session, arg: str, user: User, chat: Chat) -> list[OutgoingMessage]:
        """A button of the /themfaq conversation (admins only, like its commands)."""
        if roles.role_of(s, user) != "admin":
            return [OutgoingMessage(messages.RELAY_ADMIN_ONLY)]
        return self.faq.button(s, arg, user, chat)

    def faq_text(self, s: Session, text: str, user: User, chat: Chat) -> list[OutgoingMessage] | None:
        """The admin's next answer in a /themfaq conversation; None when there is none going on."""
        if not self.faq.active(chat):
            return None
        if roles.role_of(s, user) != "admin":  # the role was revoked meanwhile
            chat.state = None
            return None
        return self.faq.text(s, text, user, chat)

    # -- helpers -----------------------------------------------------------------------------------

    def _workable(self, s: Session, esc_id: str, user: User) -> tuple[Escalation | None, OutgoingMessage | None]:
        """The question to claim or answer, or why not: not in the member's areas, answered, someone else's."""
        esc = inbox.visible(s, esc_id, roles.areas_of(s, user))
        if esc is None:
            return None, OutgoingMessage(messages.RELAY_NOT_FOUND.format(id=esc_id.lstrip("#")[:12]))
        if esc.status == Status.ANSWERED:
            return None, OutgoingMessage(messages.RELAY_ALREADY_ANSWERED.format(id=esc.id))
        mine = esc.claimed_by in (None, user.id) or esc.status == Status.OPEN
        if not mine and roles.role_of(s, user) != "admin":
            return None, OutgoingMessage(messages.RELAY_CLAIMED_BY_OTHER.format(id=esc.id))
        return esc, None

    def _own(self, s: Session, esc_id: str, user: User) -> Escalation | None:
        esc = inbox.by_id(s, esc_id)
        return esc if esc is not None and esc.user_id == user.id else None

    @staticmethod
    def _answer_message(esc: Escalation, text: str, chat_id: str = "") -> OutgoingMessage:
        """The team's answer for the citizen with one tap to rate it (👍/👎) and one to ask more; where buttons do
        not show they become numbered lines (the service or `deliver` numbers them)."""
        rows = [[Button(messages.RATING_GOOD, f"ra:{esc.id}:1"), Button(messages.RATING_BAD, f"ra:{esc.id}:-1")],
                [Button(messages.RELAY_BUTTON_FOLLOWUP, f"ro:{esc.id}")]]
        return OutgoingMessage(messages.RELAY_ANSWER.format(id=esc.id, answer=text), rows, chat_id=chat_id)

    def area_name(self, code: str) -> str:
        return self._area_names.get(code, code) if code else messages.RELAY_AREA_UNKNOWN


def waiting_text(delta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return messages.RELAY_WAIT_NOW
    if minutes < 60:
        return messages.RELAY_WAIT_MINUTES.format(m=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return messages.RELAY_WAIT_HOURS.format(h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return messages.RELAY_WAIT_DAYS.format(d=days, h=hours)


COMMANDS = CommandTable(Relay)  # team and admin commands, and /theodoi for anyone with a code
