"""FAQ entries (list and search, add, edit, retire) and the team's drafts waiting for review (admins only).
Every change goes through FaqStore.apply (versioned; running bots answer with it within seconds, bot/faq/live.py)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from starlette.responses import RedirectResponse, Response

from bot.relay import drafts
from bot.faq.store import ImportRejected, parse_row
from bot.textnorm import fold
from bot.webadmin import texts as t
from bot.vntime import TZ
from bot.webadmin.base import NO_STORE, PREFIX, Ctx, error, page

FIELDS = (("id", "text"), ("topic", "topic"), ("question", "text"), ("alternatives", "textarea"), ("answer", "textarea"),
          ("source", "text"), ("source_url", "text"), ("tags", "text"))


class FaqPages:
    def __init__(self, admin) -> None:
        self.admin = admin  # bot.webadmin.pages.WebAdmin
        self.service = admin.service
        self.db = admin.db
        self.store = admin.store

    def faq_list(self, ctx: Ctx) -> Response:
        query = ctx.request.query_params.get("q", "").strip()[:200]
        entries = self.store.entries()
        if query:
            words = fold(query).split()
            entries = [x for x in entries if all(w in _haystack(x) for w in words)]
        return page(ctx, "faq_list.html", title=t.NAV["faq"], nav="faq", query=query, entries=entries)

    def faq_new(self, ctx: Ctx) -> Response:
        values, note = {}, ""
        draft_id = ctx.request.query_params.get("draft", "")
        if draft_id:
            with self.db.session() as s:
                draft = drafts.get_waiting(s, draft_id)
                if draft is None:
                    return error(ctx.request, 404, t.DRAFT_GONE.format(id=draft_id[:12]), ctx)
                values = {"question": draft.question, "answer": draft.answer, "draft": str(draft.id)}
                note = t.FAQ_FROM_DRAFT.format(id=draft.id, escalation=draft.escalation_id or "?",
                                               area=self.service.relay.area_name(draft.area))
        elif ctx.request.query_params.get("question"):  # «Soạn mục FAQ» from a group of unanswered questions
            values = {k: ctx.request.query_params.get(k, "")[:2000] for k in ("question", "alternatives")}
            note = t.FAQ_FROM_GAP
        return self._faq_form(ctx, values, new=True, notice=note)

    def faq_edit(self, ctx: Ctx) -> Response:
        entry_id = ctx.request.path_params["entry_id"]
        entry = next((x for x in self.store.entries() if x["id"] == entry_id), None)
        if entry is None:
            return error(ctx.request, 404, t.FAQ_ID_MISSING.format(id=entry_id[:64]), ctx)
        saved = ctx.request.query_params.get("saved", "")
        notice = t.FAQ_SAVED.format(version=saved) if saved.isdigit() else t.FAQ_UNCHANGED if saved == "none" else ""
        return self._faq_form(ctx, _form_values(entry), new=False, notice=notice)

    def _faq_form(self, ctx: Ctx, values: dict[str, str], new: bool, notice: str = "", errors: list[str] = (),
                  status: int = 200) -> Response:
        title = t.FAQ_NEW_TITLE if new else t.FAQ_EDIT_TITLE.format(id=values.get("id", ""))
        return page(ctx, "faq_form.html", status, title=title, nav="faq", fields=FIELDS, values=values, new=new,
                    notice=notice, errors=list(errors))

    def faq_save(self, ctx: Ctx) -> Response:
        form, new = ctx.form, ctx.form.get("mode") == "new"
        values = {k: form.get(k, "") for k in t.FAQ_FIELDS} | ({"draft": form["draft"]} if form.get("draft") else {})
        raw = {**values, "updated": dt.datetime.now(TZ).date().isoformat()}
        entry, problems = parse_row(raw, 0)
        errors = [t.FIELD_ERRORS.get(p.field, t.FIELD_ERRORS["file"]).format(detail=p.message) for p in problems]
        known = {x["id"] for x in self.store.entries()}
        if entry is not None and new and entry["id"] in known:
            errors.append(t.FAQ_ID_TAKEN.format(id=entry["id"]))
        if entry is not None and not new and entry["id"] not in known:
            errors.append(t.FAQ_ID_MISSING.format(id=entry["id"]))
        if values.get("draft"):  # checked before anything is written
            with self.db.session() as s:
                if drafts.get_waiting(s, values["draft"]) is None:
                    errors.append(t.DRAFT_GONE.format(id=values["draft"][:12]))
        if errors:
            return self._faq_form(ctx, values, new, errors=errors, status=422)
        try:
            applied = self.store.apply({entry["id"]: entry}, ctx.actor, f"web {'add' if new else 'edit'} {entry['id']}")
        except ImportRejected as exc:
            errors = [t.FIELD_ERRORS.get(x.field, t.FIELD_ERRORS["file"]).format(detail=x.message) for x in exc.errors]
            return self._faq_form(ctx, values, new, errors=errors, status=422)
        if values.get("draft"):
            with self.db.session() as s:
                drafts.decide(s, values["draft"], True, ctx.actor, entry["id"])
        saved = applied.version if applied.version is not None else "none"
        return RedirectResponse(f"{PREFIX}/faq/edit/{quote(entry['id'])}?saved={saved}", 303, headers=NO_STORE)

    def faq_retire(self, ctx: Ctx) -> Response:
        entry_id = ctx.request.path_params["entry_id"]
        try:
            applied = self.store.retire([entry_id], ctx.actor)
        except ImportRejected:
            return error(ctx.request, 404, t.FAQ_ID_MISSING.format(id=entry_id[:64]), ctx)
        return page(ctx, "faq_retired.html", title=t.NAV["faq"], nav="faq",
                    notice=t.FAQ_RETIRED.format(id=entry_id, version=applied.version))

    # -- the team's drafts -------------------------------------------------------------------------

    def drafts(self, ctx: Ctx, notice: str = "") -> Response:
        relay = self.service.relay
        with self.db.session() as s:
            rows = [(d.id, relay.area_name(d.area), d.question, d.answer) for d in drafts.waiting(s)]
        return page(ctx, "drafts.html", title=t.DRAFTS_TITLE, nav="drafts", notice=notice, rows=rows)

    def draft_reject(self, ctx: Ctx) -> Response:
        draft_id = ctx.request.path_params["draft_id"]
        with self.db.session() as s:
            done = drafts.decide(s, draft_id, False, ctx.actor)
        return self.drafts(ctx, (t.DRAFT_REJECTED if done else t.DRAFT_GONE).format(id=draft_id[:12]))


def _haystack(entry: dict) -> str:
    return fold(" ".join([entry["id"], entry["question"], *entry.get("alternatives", []), entry.get("answer", "")]))


def _form_values(entry: dict) -> dict[str, str]:
    return {
        "id": entry["id"], "topic": entry["topic"], "question": entry["question"],
        "alternatives": "\n".join(entry.get("alternatives", [])), "answer": entry.get("answer", ""),
        "source": entry.get("source", {}).get("title", ""), "source_url": entry.get("source", {}).get("url", ""),
        "tags": ", ".join(entry.get("tags", [])),
    }
