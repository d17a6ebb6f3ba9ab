"""The FAQ's version history (who changed what, field by field) and rolling back to before a version (admins only)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.responses import Response

from bot.faq.store import ImportRejected
from bot.storage.models import parse_id
from bot.webadmin import texts as t
from bot.webadmin.base import Ctx, error, page

SHOWN_CHANGES = 8  # per version; more are counted


@dataclass(frozen=True)
class Change:
    """One entry's change as the page shows it: each field people read, what it was and what it became."""

    action: str
    entry_id: str
    fields: tuple[tuple[str, str, str], ...]  # (label, before, after), changed fields only


class HistoryPages:
    def __init__(self, admin) -> None:
        self.admin = admin  # bot.webadmin.pages.WebAdmin
        self.store = admin.store

    def history(self, ctx: Ctx, notice: str = "") -> Response:
        entry = ctx.request.query_params.get("entry", "").strip()[:64] or None
        rows = [(version, [change_view(c) for c in changes[:SHOWN_CHANGES]], len(changes))
                for version, changes in self.store.history(50, entry)]
        return page(ctx, "history.html", title=t.HISTORY_TITLE, nav="history", notice=notice, entry=entry or "", rows=rows,
                    shown=SHOWN_CHANGES, summary=history_summary)

    def rollback(self, ctx: Ctx) -> Response:
        """GET: what a rollback would change, and a button to confirm it; POST with confirm: do it."""
        target = parse_id(ctx.request.path_params["version"])
        if target is None:
            return error(ctx.request, 404, t.NOT_FOUND, ctx)
        if ctx.request.method == "GET" or ctx.form.get("confirm") != "1":
            touched = sorted({c.entry_id for version, changes in self.store.history(10_000) if version.id >= target for c in changes})
            if not touched:
                return error(ctx.request, 404, t.NOT_FOUND, ctx)
            return page(ctx, "rollback.html", title=t.ROLLBACK_TITLE.format(target=target), nav="history", target=target,
                        touched=touched)
        try:
            applied = self.store.rollback(target, ctx.actor)
        except LookupError:
            return error(ctx.request, 404, t.NOT_FOUND, ctx)
        except ImportRejected as exc:
            return error(ctx.request, 422, t.FIELD_ERRORS["file"].format(detail="; ".join(x.message for x in exc.errors)), ctx)
        notice = t.HISTORY_ROLLED_BACK.format(target=target, version=applied.version) if applied.version else t.FAQ_UNCHANGED
        return self.history(ctx, notice)


def history_summary(summary: str) -> str:
    """A version's summary (kept in English for operators) in Vietnamese for the history page."""
    for pattern, text in t.HISTORY_SUMMARIES:
        if match := re.fullmatch(pattern, summary):
            return text.format(*match.groups())
    return summary


def change_view(change) -> Change:
    before, after = change.before or {}, change.after or {}
    fields = []
    for key, label in t.HISTORY_FIELDS.items():
        old, new = _field_text(before.get(key)), _field_text(after.get(key))
        if old != new:
            fields.append((label, old, new))
    return Change(t.HISTORY_ACTIONS.get(change.action, change.action), change.entry_id, tuple(fields))


def _field_text(value) -> str:
    if isinstance(value, list):
        return "; ".join(map(str, value))
    if isinstance(value, dict):
        return " ".join(str(v) for v in value.values())
    return "" if value is None else str(value)
