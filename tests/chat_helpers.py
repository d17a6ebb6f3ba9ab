"""Messages to a real conversation service, for the tests: send one, grant a role, escalate a question."""

from __future__ import annotations

import itertools
import re

from bot import messages
from bot.areas import load_areas
from bot.chat.types import IncomingMessage
from bot.relay import roles
from tests.conftest import KNOWLEDGE

AREAS = load_areas(KNOWLEDGE / "areas.yaml")
_ids = itertools.count(1)


def send(service, user, command="", text="", channel="telegram", **kw):
    kind = kw.pop("kind", "command" if command else "text")
    msg = IncomingMessage(channel=channel, user_id=user, chat_id=kw.pop("chat", user), kind=kind, command=command,
                          text=text, message_id=str(next(_ids)), **kw)
    return service.handle(msg)


def give(db, user, role, area="all", channel="telegram"):
    with db.session() as s:
        roles.grant(s, roles.find_user(s, channel, user, create=True), role, area, "cli")


def escalate(service, citizen, question, area="", channel="telegram", **kw):
    if area:
        send(service, citizen, "dangky", area, channel=channel, **kw)
    out = send(service, citizen, "canbo", question, channel=channel, **kw)
    if out[0].text == messages.ESCALATE_WHICH_AREA:  # no area known: "Tôi không rõ khu vực"
        out = send(service, citizen, kind="button", data="ea:-", channel=channel, **kw)
    return int(re.search(r"#(\d+)", out[0].text)[1]), out


def buttons(out):
    return [b.data for row in out.buttons for b in row]
