"""The web admin (FAQ entries, drafts, history, reports, contests) and the team's web inbox, under /admin.

Server-rendered HTML: every value goes through html.escape, the only style sheet is
/static/admin.css and there is no script, so the web chat's strict CSP holds. Every page needs a
session (bot.webadmin.auth); every POST must carry the session's CSRF token (403 without it); admin
pages refuse team members (403); team members see only the questions of their areas. FAQ changes go
through FaqStore.apply (versioned; running bots answer them within seconds, bot/faq/live.py) and the
inbox through the chat relay's own claim/reply/save-draft code (bot/relay/commands.py).
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl, quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot import messages
from bot.relay import drafts
from bot.faq.store import FaqStore, ImportRejected, parse_row
from bot.admin.reports import TZ, build_report, parse_period, sheets, write_chart, write_report
from bot.channels.inbound import client_address, read_body
from bot.conversation.service import ConversationService, FloodGuard
from bot.relay import inbox, roles
from bot.relay.commands import waiting_text
from bot.relay.delivery import Notice, Pusher
from sqlalchemy import select

from bot.storage.models import Conversation, User, parse_id
from bot.textnorm import fold
from bot.webadmin import auth, texts as t
from bot.webadmin.models import WebAccount, WebSession

log = logging.getLogger(__name__)

COOKIE = "bdhvs_admin"
LOGIN_COOKIE = "bdhvs_admin_login"  # the login form's CSRF token (double submit: no session yet)
PREFIX = "/admin"
MAX_FORM_BYTES = 64 * 1024
LOGIN_ATTEMPTS, LOGIN_WINDOW = 30, 300.0  # login POSTs per client address (bot.channels.inbound) per 5 minutes
NO_STORE = {"Cache-Control": "no-store"}


def e(value) -> str:
    return html.escape(str(value), quote=True)


@dataclass
class Ctx:
    request: Request
    form: dict[str, str]
    session: WebSession | None = None
    account: WebAccount | None = None
    user: User | None = None
    role: str = "citizen"
    pushes: list[Notice] = field(default_factory=list)  # answers to push once the transaction committed

    @property
    def actor(self) -> str:
        return f"{auth.CHANNEL}:{self.account.name}" if self.account else auth.CHANNEL


class WebAdmin:
    def __init__(self, service: ConversationService, knowledge_dir: Path, cookie_secure: str = "auto") -> None:
        self.service = service
        self.db = service.db
        self.store = FaqStore(knowledge_dir, service.db)
        self.cookie_secure = cookie_secure
        self.login_guard = FloodGuard(LOGIN_ATTEMPTS, LOGIN_WINDOW)  # besides the per-account lockout (auth.py)
        from bot.webadmin.contest_pages import ContestPages  # it builds on this module's page helpers

        self.contests = ContestPages(self)

    def add_pusher(self, channel: str, pusher: Pusher, buttons: bool = True) -> None:
        """A running channel that can deliver an inbox answer to a citizen's chat now (bot/relay/delivery.py)."""
        self.service.delivery.add(channel, pusher, buttons)

    def routes(self) -> list[Route]:
        p, admin, team = PREFIX, "admin", "team"
        return [
            Route(p, self._wrap(self.home, team), methods=["GET"]),
            Route(p + "/", self._wrap(self.home, team), methods=["GET"]),
            Route(p + "/login", self.login, methods=["GET", "POST"]),
            Route(p + "/logout", self._wrap(self.logout, team), methods=["POST"]),
            Route(p + "/faq", self._wrap(self.faq_list, admin), methods=["GET"]),
            Route(p + "/faq/new", self._wrap(self.faq_new, admin), methods=["GET"]),
            Route(p + "/faq/edit/{entry_id}", self._wrap(self.faq_edit, admin), methods=["GET"]),
            Route(p + "/faq/save", self._wrap(self.faq_save, admin), methods=["POST"]),
            Route(p + "/faq/retire/{entry_id}", self._wrap(self.faq_retire, admin), methods=["POST"]),
            Route(p + "/history", self._wrap(self.history, admin), methods=["GET"]),
            Route(p + "/history/rollback/{version}", self._wrap(self.rollback, admin), methods=["GET", "POST"]),
            Route(p + "/drafts", self._wrap(self.drafts, admin), methods=["GET"]),
            Route(p + "/drafts/reject/{draft_id}", self._wrap(self.draft_reject, admin), methods=["POST"]),
            Route(p + "/report", self._wrap(self.report, admin), methods=["GET"]),
            Route(p + "/report/file", self._wrap(self.report_file, admin), methods=["GET"]),
            *self.contests.routes(self._wrap),
            Route(p + "/disliked", self._wrap(self.disliked, admin), methods=["GET"]),
            Route(p + "/disliked/{log_id:int}/phrasing", self._wrap(self.add_phrasing, admin), methods=["POST"]),
            Route(p + "/gaps", self._wrap(self.gaps, admin), methods=["GET"]),
            Route(p + "/inbox", self._wrap(self.inbox, team), methods=["GET"]),
            Route(p + "/inbox/{esc_id:int}", self._wrap(self.question, team), methods=["GET"]),
            Route(p + "/inbox/{esc_id:int}/{action}", self._wrap(self.question_action, team), methods=["POST"]),
        ]

    # -- plumbing ----------------------------------------------------------------------------------

    async def _form(self, request: Request) -> dict[str, str] | None:
        if request.method != "POST":
            return {}
        body = await read_body(request, MAX_FORM_BYTES)
        if body is None:
            return None
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
        except (UnicodeDecodeError, ValueError):
            return None
        return {k: v for k, v in pairs}

    def _wrap(self, handler: Callable[[Ctx], Response], needs: str):
        """Session, role and CSRF checks around a page; the handler runs in a worker thread (database work)."""

        async def endpoint(request: Request) -> Response:
            form = await self._form(request)
            if form is None:
                return self._error(413, t.TOO_LARGE)
            ctx = Ctx(request, form)
            response = await self.db.run(self._guarded, handler, needs, ctx)
            await self.service.delivery.push_all(ctx.pushes)  # a refused push stays kept for the citizen's next message
            return response

        return endpoint

    def _guarded(self, handler: Callable[[Ctx], Response], needs: str, ctx: Ctx) -> Response:
        request = ctx.request
        with self.db.session() as s:
            found = auth.load_session(s, request.cookies.get(COOKIE, ""))
            if found is not None:
                ctx.session, ctx.account = found
                ctx.user = s.get(User, ctx.account.user_id)
                ctx.role = roles.role_of(s, ctx.user)
        if ctx.session is None or ctx.role == "citizen":
            if request.method == "POST":
                return self._error(403, t.LOGIN_EXPIRED)
            return RedirectResponse(f"{PREFIX}/login?next={quote(request.url.path)}", 303, headers=NO_STORE)
        if request.method == "POST" and not auth.csrf_ok(ctx.session.csrf, ctx.form.get("csrf")):
            return self._error(403, t.FORBIDDEN_CSRF, ctx)
        if needs == "admin" and ctx.role != "admin":
            return self._error(403, t.FORBIDDEN_ROLE, ctx)
        return handler(ctx)

    def _secure(self, request: Request) -> bool:
        return request.url.scheme == "https" if self.cookie_secure == "auto" else self.cookie_secure in ("1", "true", "yes")

    def _page(self, title: str, body: str, ctx: Ctx | None = None, status: int = 200, nav: str = "") -> HTMLResponse:
        header = ""
        if ctx is not None and ctx.account is not None:
            links = [k for k in t.NAV if ctx.role == "admin" or k == "inbox"]
            items = "".join(
                f'<a href="{PREFIX}/{k}"{" aria-current=page" if k == nav else ""}>{e(t.NAV[k])}</a>' for k in links
            )
            who = e(t.SIGNED_IN_AS.format(name=ctx.account.name, role=messages.RELAY_ROLE_NAMES.get(ctx.role, ctx.role)))
            logout = self._form_html(f"{PREFIX}/logout", f'<button class="secondary">{e(t.LOGOUT)}</button>', ctx, "inline")
            header = f'<header><nav>{items}</nav><span class="who">{who}</span>{logout}</header>'
        doc = (
            '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{e(title)} · {e(t.APP_TITLE)}</title><link rel="icon" href="data:,">'
            '<link rel="stylesheet" href="/static/admin.css"></head>'
            f'<body>{header}<main><h1>{e(title)}</h1>{body}</main></body></html>'
        )
        return HTMLResponse(doc, status, headers=NO_STORE)

    def _error(self, status: int, text: str, ctx: Ctx | None = None) -> HTMLResponse:
        title = t.FORBIDDEN_TITLE if status == 403 else t.NOT_FOUND if status == 404 else t.FORBIDDEN_TITLE
        return self._page(title, f'<p class="error">{e(text)}</p>', ctx, status)

    @staticmethod
    def _form_html(action: str, inner: str, ctx: Ctx, cls: str = "") -> str:
        css = f' class="{cls}"' if cls else ""
        return f'<form method="post" action="{e(action)}"{css}><input type="hidden" name="csrf" value="{e(ctx.session.csrf)}">{inner}</form>'

    @staticmethod
    def _notice(text: str, error: bool = False) -> str:
        return f'<p class="{"error" if error else "notice"}" role="status">{e(text)}</p>' if text else ""

    # -- login -------------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        form = await self._form(request)
        if form is None:
            return self._error(413, t.TOO_LARGE)
        if request.method == "GET":
            return self._login_page(request, "")
        if not auth.csrf_ok(request.cookies.get(LOGIN_COOKIE, ""), form.get("csrf")):
            return self._error(403, t.FORBIDDEN_CSRF)
        if not self.login_guard.allow(client_address(request)):
            return self._login_page(request, t.LOGIN_TOO_MANY, 429)
        token, message = await self.db.run(self._authenticate, form.get("name", "")[:64], form.get("password", "")[:1024])
        if token is None:
            return self._login_page(request, message, 401)
        target = form.get("next", "")
        target = target if target.startswith(PREFIX + "/") and "//" not in target else PREFIX + "/"
        response = RedirectResponse(target, 303, headers=NO_STORE)
        response.set_cookie(COOKIE, token, path=PREFIX, httponly=True, samesite="strict", secure=self._secure(request))
        response.delete_cookie(LOGIN_COOKIE, path=PREFIX + "/login")
        return response

    def _authenticate(self, name: str, password: str) -> tuple[str | None, str]:
        with self.db.session() as s:
            result = auth.authenticate(s, name, password)
            if result.account is None:
                return None, t.LOGIN_FAILED  # locked or not: the same words (auth.LoginResult.locked_minutes)
            user = s.get(User, result.account.user_id)
            if roles.role_of(s, user) == "citizen":  # every role revoked: nothing to show
                return None, t.LOGIN_FAILED
            return auth.start_session(s, result.account), ""

    def _login_page(self, request: Request, message: str, status: int = 200) -> Response:
        csrf = request.cookies.get(LOGIN_COOKIE, "")
        if len(csrf) < 32 or len(csrf) > 64:
            csrf = secrets.token_urlsafe(32)
        target = request.query_params.get("next", "")
        body = (
            f'<form method="post" action="{PREFIX}/login" class="login">'
            f'<input type="hidden" name="csrf" value="{e(csrf)}"><input type="hidden" name="next" value="{e(target)}">'
            f'{self._notice(message, error=True)}'
            f'<label for="name">{e(t.LOGIN_NAME)}</label><input type="text" id="name" name="name" autocomplete="username" required>'
            f'<label for="password">{e(t.LOGIN_PASSWORD)}</label>'
            f'<input type="password" id="password" name="password" autocomplete="current-password" required>'
            f'<button>{e(t.LOGIN_BUTTON)}</button></form>'
        )
        response = self._page(t.LOGIN_TITLE, body, status=status)
        response.set_cookie(LOGIN_COOKIE, csrf, path=PREFIX + "/login", httponly=True, samesite="strict", secure=self._secure(request))
        return response

    def logout(self, ctx: Ctx) -> Response:
        with self.db.session() as s:
            auth.end_session(s, ctx.request.cookies.get(COOKIE, ""))
        response = RedirectResponse(f"{PREFIX}/login", 303, headers=NO_STORE)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    def home(self, ctx: Ctx) -> Response:
        return RedirectResponse(f"{PREFIX}/{'faq' if ctx.role == 'admin' else 'inbox'}", 303, headers=NO_STORE)

    # -- FAQ entries -------------------------------------------------------------------------------

    def faq_list(self, ctx: Ctx) -> Response:
        query = ctx.request.query_params.get("q", "").strip()[:200]
        entries = self.store.entries()
        if query:
            words = fold(query).split()
            entries = [x for x in entries if all(w in _haystack(x) for w in words)]
        rows = "".join(
            f'<tr><td>{e(x["id"])}</td><td>{e(messages.TOPIC_NAMES.get(x["topic"], x["topic"]))}</td><td>{e(x["question"])}</td>'
            f'<td><a href="{PREFIX}/faq/edit/{quote(x["id"])}">{e(t.FAQ_EDIT)}</a></td></tr>'
            for x in entries
        )
        body = (
            f'<form method="get" action="{PREFIX}/faq"><label for="q">{e(t.FAQ_SEARCH)}</label>'
            f'<input type="search" id="q" name="q" value="{e(query)}"><button>{e(t.FAQ_SEARCH_BUTTON)}</button></form>'
            f'<p><a href="{PREFIX}/faq/new">{e(t.FAQ_NEW)}</a> · {e(t.FAQ_COUNT.format(count=len(entries)))}</p>'
            + (_table(t.FAQ_COLUMNS, rows) if entries else f"<p>{e(t.FAQ_EMPTY)}</p>")
        )
        return self._page(t.NAV["faq"], body, ctx, nav="faq")

    def faq_new(self, ctx: Ctx) -> Response:
        values, note = {}, ""
        draft_id = ctx.request.query_params.get("draft", "")
        if draft_id:
            with self.db.session() as s:
                draft = drafts.get_waiting(s, draft_id)
                if draft is None:
                    return self._error(404, t.DRAFT_GONE.format(id=draft_id[:12]), ctx)
                values = {"question": draft.question, "answer": draft.answer, "draft": str(draft.id)}
                note = t.FAQ_FROM_DRAFT.format(id=draft.id, escalation=draft.escalation_id or "?", area=self.service.relay.area_name(draft.area))
        elif ctx.request.query_params.get("question"):  # «Soạn mục FAQ» from a group of unanswered questions
            values = {k: ctx.request.query_params.get(k, "")[:2000] for k in ("question", "alternatives")}
            note = t.FAQ_FROM_GAP
        return self._faq_form(ctx, values, new=True, notice=note)

    def faq_edit(self, ctx: Ctx) -> Response:
        entry_id = ctx.request.path_params["entry_id"]
        entry = next((x for x in self.store.entries() if x["id"] == entry_id), None)
        if entry is None:
            return self._error(404, t.FAQ_ID_MISSING.format(id=entry_id[:64]), ctx)
        saved = ctx.request.query_params.get("saved", "")
        notice = t.FAQ_SAVED.format(version=saved) if saved.isdigit() else t.FAQ_UNCHANGED if saved == "none" else ""
        return self._faq_form(ctx, _form_values(entry), new=False, notice=notice)

    def _faq_form(self, ctx: Ctx, values: dict[str, str], new: bool, notice: str = "", errors: list[str] = (), status: int = 200) -> Response:
        def field_html(name: str, kind: str = "text") -> str:
            label = f'<label for="{name}">{e(t.FAQ_FIELDS[name])}</label>'
            value = values.get(name, "")
            if kind == "textarea":
                return label + f'<textarea id="{name}" name="{name}">{e(value)}</textarea>'
            if kind == "topic":
                options = "".join(
                    f'<option value="{e(k)}"{" selected" if k == value else ""}>{e(v)}</option>' for k, v in messages.TOPIC_NAMES.items()
                )
                return label + f'<select id="topic" name="topic"><option value=""></option>{options}</select>'
            readonly = " readonly" if name == "id" and not new else ""
            return label + f'<input type="text" id="{name}" name="{name}" value="{e(value)}"{readonly}>'

        fields = "".join([
            field_html("id"), field_html("topic", "topic"), field_html("question"), field_html("alternatives", "textarea"),
            field_html("answer", "textarea"), field_html("source"), field_html("source_url"), field_html("tags"),
        ])
        hidden = f'<input type="hidden" name="mode" value="{"new" if new else "edit"}">'
        if values.get("draft"):
            hidden += f'<input type="hidden" name="draft" value="{e(values["draft"])}">'
        error_html = ""
        if errors:
            error_html = f'<div class="error" role="alert"><p>{e(t.FAQ_ERRORS)}</p><ul>' + "".join(f"<li>{e(x)}</li>" for x in errors) + "</ul></div>"
        body = self._notice(notice) + error_html + self._form_html(f"{PREFIX}/faq/save", hidden + fields + f"<button>{e(t.FAQ_SAVE)}</button>", ctx)
        if not new:
            entry_id = values["id"]
            body += self._form_html(f"{PREFIX}/faq/retire/{quote(entry_id)}", f'<button class="secondary">{e(t.FAQ_RETIRE)}</button>', ctx)
            body += f'<p><a href="{PREFIX}/history?{urlencode({"entry": entry_id})}">{e(t.NAV["history"])}</a></p>'
        title = t.FAQ_NEW_TITLE if new else t.FAQ_EDIT_TITLE.format(id=values.get("id", ""))
        return self._page(title, body, ctx, status, nav="faq")

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
            return self._error(404, t.FAQ_ID_MISSING.format(id=entry_id[:64]), ctx)
        return self._page(t.NAV["faq"], self._notice(t.FAQ_RETIRED.format(id=entry_id, version=applied.version))
                          + f'<p><a href="{PREFIX}/faq">{e(t.NAV["faq"])}</a></p>', ctx, nav="faq")

    # -- history -----------------------------------------------------------------------------------

    def history(self, ctx: Ctx, notice: str = "") -> Response:
        entry = ctx.request.query_params.get("entry", "").strip()[:64] or None
        rows = ""
        for version, changes in self.store.history(50, entry):
            what = "".join(_change_html(c) for c in changes[:8])
            what += e(t.HISTORY_MORE.format(count=len(changes))) if len(changes) > 8 else ""
            link = f'<a href="{PREFIX}/history/rollback/{version.id}">{e(t.HISTORY_ROLLBACK)}</a>'
            rows += (f"<tr><td class=num>{version.id}</td><td>{e(_local(version.created_at))}</td><td>{e(version.actor)}</td>"
                     f"<td>{e(history_summary(version.summary))}</td><td>{what}</td><td>{link}</td></tr>")
        body = self._notice(notice) + (
            f'<form method="get" action="{PREFIX}/history"><label for="entry">{e(t.HISTORY_FILTER)}</label>'
            f'<input type="text" id="entry" name="entry" value="{e(entry or "")}"><button>{e(t.FAQ_SEARCH_BUTTON)}</button></form>'
        ) + (_table(t.HISTORY_COLUMNS, rows) if rows else f"<p>{e(t.HISTORY_EMPTY)}</p>")
        return self._page(t.HISTORY_TITLE, body, ctx, nav="history")

    def rollback(self, ctx: Ctx) -> Response:
        """GET: what a rollback would change, and a button to confirm it; POST with confirm: do it."""
        target = parse_id(ctx.request.path_params["version"])
        if target is None:
            return self._error(404, t.NOT_FOUND, ctx)
        if ctx.request.method == "GET" or ctx.form.get("confirm") != "1":
            touched = sorted({c.entry_id for version, changes in self.store.history(10_000) if version.id >= target for c in changes})
            if not touched:
                return self._error(404, t.NOT_FOUND, ctx)
            body = (f"<p>{e(t.ROLLBACK_EXPLAIN.format(target=target, count=len(touched)))}</p><ul>"
                    + "".join(f"<li>{e(x)}</li>" for x in touched[:50]) + "</ul>"
                    + self._form_html(f"{PREFIX}/history/rollback/{target}", '<input type="hidden" name="confirm" value="1">'
                                      f"<button>{e(t.ROLLBACK_CONFIRM)}</button>", ctx)
                    + f'<p><a href="{PREFIX}/history">{e(t.ROLLBACK_CANCEL)}</a></p>')
            return self._page(t.ROLLBACK_TITLE.format(target=target), body, ctx, nav="history")
        try:
            applied = self.store.rollback(target, ctx.actor)
        except LookupError:
            return self._error(404, t.NOT_FOUND, ctx)
        except ImportRejected as exc:
            return self._error(422, t.FIELD_ERRORS["file"].format(detail="; ".join(x.message for x in exc.errors)), ctx)
        notice = t.HISTORY_ROLLED_BACK.format(target=target, version=applied.version) if applied.version else t.FAQ_UNCHANGED
        return self.history(ctx, notice)

    # -- drafts ------------------------------------------------------------------------------------

    def drafts(self, ctx: Ctx, notice: str = "") -> Response:
        with self.db.session() as s:
            rows = "".join(
                f"<tr><td class=num>#{d.id}</td><td>{e(self.service.relay.area_name(d.area))}</td><td class=pre>{e(d.question)}</td>"
                f"<td class=pre>{e(d.answer)}</td><td><a href=\"{PREFIX}/faq/new?draft={d.id}\">{e(t.DRAFT_APPROVE)}</a>"
                + self._form_html(f"{PREFIX}/drafts/reject/{d.id}", f'<button class="secondary">{e(t.DRAFT_REJECT)}</button>', ctx)
                + "</td></tr>"
                for d in drafts.waiting(s)
            )
        body = self._notice(notice) + (_table(t.DRAFTS_COLUMNS, rows) if rows else f"<p>{e(t.DRAFTS_EMPTY)}</p>")
        return self._page(t.DRAFTS_TITLE, body, ctx, nav="drafts")

    def draft_reject(self, ctx: Ctx) -> Response:
        draft_id = ctx.request.path_params["draft_id"]
        with self.db.session() as s:
            done = drafts.decide(s, draft_id, False, ctx.actor)
        return self.drafts(ctx, (t.DRAFT_REJECTED if done else t.DRAFT_GONE).format(id=draft_id[:12]))

    # -- reports -----------------------------------------------------------------------------------

    def report(self, ctx: Ctx) -> Response:
        label = ctx.request.query_params.get("period", "").strip()[:10] or dt.datetime.now(TZ).strftime("%Y-%m")
        form = (f'<form method="get" action="{PREFIX}/report"><label for="period">{e(t.REPORT_PERIOD)}</label>'
                f'<input type="text" id="period" name="period" value="{e(label)}"><button>{e(t.REPORT_SHOW)}</button></form>')
        try:
            period = parse_period(label)
        except ValueError:
            return self._page(t.REPORT_TITLE, form + self._notice(t.REPORT_BAD_PERIOD, error=True), ctx, 422, nav="report")
        data = sheets(build_report(self.db, period))
        query = urlencode({"period": period.label})
        body = form + f"<h2>{e(period.title)}</h2>"
        body += (f'<p><a href="{PREFIX}/report/file?{query}&amp;kind=xlsx" download>{e(t.REPORT_DOWNLOAD_XLSX)}</a> · '
                 f'<a href="{PREFIX}/report/file?{query}&amp;kind=png" download>{e(t.REPORT_DOWNLOAD_PNG)}</a></p>')
        body += f'<img class="chart" src="{PREFIX}/report/file?{query}&amp;kind=png" alt="{e(t.REPORT_CHART_ALT)}">'
        for key, (header, *rows) in data.items():  # every sheet of the workbook, in its order
            cells = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
            body += _table(header, cells, caption=messages.REPORT_SHEETS.get(key, key))
        return self._page(t.REPORT_TITLE, body, ctx, nav="report")

    def report_file(self, ctx: Ctx) -> Response:
        kind = ctx.request.query_params.get("kind", "")
        try:
            period = parse_period(ctx.request.query_params.get("period", "")[:10])
        except ValueError:
            return self._error(404, t.REPORT_BAD_PERIOD, ctx)
        if kind not in ("xlsx", "png"):
            return self._error(404, t.NOT_FOUND, ctx)
        report = build_report(self.db, period)
        with tempfile.TemporaryDirectory() as tmp:
            if kind == "png":
                path = Path(tmp) / f"report-{period.label}.png"
                write_chart(report, path)
                media = "image/png"
            else:
                path = write_report(report, Path(tmp), "xlsx")[0]
                media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            content = path.read_bytes()
        headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{path.name}"'}
        return Response(content, media_type=media, headers=headers)

    # -- 👎 answers and gaps ------------------------------------------------------------------------

    def disliked(self, ctx: Ctx, notice: str = "") -> Response:
        """Each 👎 on a bot answer: the question, the entry it was answered with, and one step to fix it."""
        with self.db.session() as s:
            logs = s.scalars(select(Conversation).where(Conversation.feedback == -1, Conversation.answered.is_(True))
                             .order_by(Conversation.id.desc()).limit(50)).all()
        rows = ""
        for log in logs:
            chunk = self.service.chunk(log.chunk_id) if log.chunk_id else None
            entry = log.chunk_id.removeprefix("faq:") if log.chunk_id.startswith("faq:") else ""
            answer = f"<strong>{e(chunk.title)}</strong><br>{e(chunk.text[:300])}" if chunk else e(t.DISLIKED_GONE)
            actions = ""
            if entry and chunk is not None:
                actions = (f'<a href="{PREFIX}/faq/edit/{quote(entry)}">{e(t.DISLIKED_EDIT)}</a>'
                           + self._form_html(f"{PREFIX}/disliked/{log.id}/phrasing",
                                             f'<button class="secondary">{e(t.DISLIKED_ADD_PHRASING)}</button>', ctx))
            rows += (f"<tr><td>{e(_local(log.created_at))}</td><td class=pre>{e(inbox.mask(log.question))}</td>"
                     f"<td>{answer}</td><td>{e(entry)}</td><td>{actions}</td></tr>")
        body = self._notice(notice) + f"<p>{e(t.DISLIKED_INTRO)}</p>"
        body += _table(t.DISLIKED_COLUMNS, rows) if rows else f"<p>{e(t.DISLIKED_EMPTY)}</p>"
        return self._page(t.DISLIKED_TITLE, body, ctx, nav="disliked")

    def add_phrasing(self, ctx: Ctx) -> Response:
        """One step: the 👎 question becomes another phrasing of the entry the bot chose (for a question that did mean
        that entry but was answered with too little confidence or wording); versioned like every FAQ change."""
        with self.db.session() as s:
            log = s.get(Conversation, ctx.request.path_params["log_id"])
            question, chunk_id = (inbox.mask(log.question), log.chunk_id) if log is not None else ("", "")
        entry = next((x for x in self.store.entries() if f"faq:{x['id']}" == chunk_id), None)
        if entry is None or not question.strip():
            return self._error(404, t.NOT_FOUND, ctx)
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
        rows = ""
        for c in found[:50]:
            query = urlencode({"question": c.label, "alternatives": "\n".join(x for x in c.examples if x != c.label)})
            rows += (f"<tr><td class=num>{c.size}</td><td class=pre>{e(c.label)}</td>"
                     f"<td class=pre>{e(chr(10).join(c.examples))}</td>"
                     f"<td>{e(', '.join(self.service.relay.area_name(a) for a in c.areas))}</td>"
                     f'<td><a href="{PREFIX}/faq/new?{e(query)}">{e(t.GAPS_COMPOSE)}</a></td></tr>')
        form = (f'<form method="get" action="{PREFIX}/gaps"><label for="since">{e(t.GAPS_SINCE)}</label>'
                f'<input type="date" id="since" name="since" value="{e(since_text)}"><button>{e(t.REPORT_SHOW)}</button></form>')
        body = form + f"<p>{e(t.GAPS_INTRO)}</p>" + (_table(t.GAPS_COLUMNS, rows) if rows else f"<p>{e(t.GAPS_EMPTY)}</p>")
        return self._page(t.GAPS_TITLE, body, ctx, nav="gaps")

    # -- the team's inbox --------------------------------------------------------------------------

    def inbox(self, ctx: Ctx) -> Response:
        relay = self.service.relay
        with self.db.session() as s:
            waiting = inbox.waiting_questions(s, roles.areas_of(s, ctx.user))
            rows = "".join(
                f'<tr><td><a href="{PREFIX}/inbox/{x.id}">#{x.id}</a></td><td>{e(relay.area_name(x.area))}</td>'
                f"<td>{e(waiting_text(inbox.waited(x.created_at)))}</td><td>{e(self._status(x, ctx))}</td>"
                f"<td class=pre>{e(inbox.preview(x.question))}</td></tr>"
                for x in waiting
            )
        body = _table(t.INBOX_COLUMNS, rows) if rows else f"<p>{e(t.INBOX_EMPTY)}</p>"
        return self._page(t.INBOX_TITLE, body, ctx, nav="inbox")

    @staticmethod
    def _status(esc, ctx: Ctx) -> str:
        return messages.RELAY_STATUS[inbox.status_key(esc, ctx.user.id)]

    def question(self, ctx: Ctx, notices: list[str] = ()) -> Response:
        esc_id = ctx.request.path_params["esc_id"]
        relay = self.service.relay
        with self.db.session() as s:
            esc = inbox.visible(s, str(esc_id), roles.areas_of(s, ctx.user))
            if esc is None:  # not in this member's areas: as if it did not exist
                return self._error(404, t.NOT_FOUND, ctx)
            meta = t.QUESTION_META.format(area=relay.area_name(esc.area), waited=waiting_text(inbox.waited(esc.created_at)),
                                          status=self._status(esc, ctx))
            if esc.due_at is not None:
                meta += " · " + t.QUESTION_DUE.format(when=_local(esc.due_at))
            thread = "".join(f"<p><strong>{e(t.THREAD_AUTHORS.get(m.author, m.author))}:</strong> {e(inbox.mask(m.text))}</p>"
                             for m in inbox.thread(s, esc))
            question = inbox.mask(esc.question)
            before = self._bot_before(s, esc)
            contact = inbox.contact_for(esc, ctx.user)
            turns = inbox.turns(s, esc)
            closed = esc.status == "answered"
            mine = esc.status == "claimed" and esc.claimed_by == ctx.user.id
        base = f"{PREFIX}/inbox/{esc_id}"
        body = "".join(self._notice(n) for n in notices) + f"<p>{e(meta)}</p><p class=pre>{e(question)}</p>"
        body += f'<p class="bot-before"><strong>{e(t.BOT_BEFORE)}:</strong> {e(before)}</p>'
        if contact:
            body += f'<p class="contact"><strong>{e(t.CONTACT)}:</strong> {e(contact)}</p>'
        body += f"<div class=thread>{thread}</div>"
        if closed:
            body += f'<p class="closed">{e(t.CLOSED_NOTE)}</p>'
        else:
            if not mine:
                body += self._form_html(f"{base}/claim", f"<button>{e(t.CLAIM)}</button>", ctx)
            body += self._form_html(
                f"{base}/reply", f'<label for="text">{e(t.REPLY_LABEL)}</label><textarea id="text" name="text" required></textarea>'
                f"<button>{e(t.REPLY)}</button>", ctx)
        if turns:
            options = "".join(f'<option value="{p.number}"{" selected" if p is turns[-1] else ""}>'
                              f'{e(t.TURN_OPTION.format(n=p.number, question=inbox.preview(p.question)[:80]))}</option>' for p in turns)
            picker = (f'<label for="turn">{e(t.TURN_LABEL)}</label><select id="turn" name="turn">{options}</select>'
                      if len(turns) > 1 else f'<input type="hidden" name="turn" value="{turns[0].number}">')
            body += self._form_html(f"{base}/savefaq", picker + f'<button class="secondary">{e(t.SAVE_DRAFT)}</button>', ctx)
        return self._page(t.QUESTION_TITLE.format(id=esc_id), body, ctx, nav="inbox")

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
                return self._error(404, t.NOT_FOUND, ctx)
        return self.question(ctx, [done or m.text for m in out[:1]] if out else [done])


def history_summary(summary: str) -> str:
    """A version's summary (kept in English for operators) in Vietnamese for the history page."""
    for pattern, text in t.HISTORY_SUMMARIES:
        if match := re.fullmatch(pattern, summary):
            return text.format(*match.groups())
    return summary


def _change_html(change) -> str:
    """One entry's change: what it was, what it became, field by field (the fields people read)."""
    head = f"<strong>{e(t.HISTORY_ACTIONS.get(change.action, change.action))} {e(change.entry_id)}</strong>"
    before, after = change.before or {}, change.after or {}
    lines = []
    for key, label in t.HISTORY_FIELDS.items():
        old, new = _field_text(before.get(key)), _field_text(after.get(key))
        if old != new:
            lines.append(f"<li>{e(label)}: " + (f"<del>{e(old)}</del> " if old else "") + (f"→ <ins>{e(new)}</ins>" if new else "") + "</li>")
    return f'<div class="change">{head}<ul>{"".join(lines)}</ul></div>'


def _field_text(value) -> str:
    if isinstance(value, list):
        return "; ".join(map(str, value))
    if isinstance(value, dict):
        return " ".join(str(v) for v in value.values())
    return "" if value is None else str(value)


def _prefix(template: str) -> str:
    """The fixed start of a chat text (before its first field), to tell which outcome the relay returned."""
    return template.split("{")[0]


def _haystack(entry: dict) -> str:
    return fold(" ".join([entry["id"], entry["question"], *entry.get("alternatives", []), entry.get("answer", "")]))


def _form_values(entry: dict) -> dict[str, str]:
    return {
        "id": entry["id"], "topic": entry["topic"], "question": entry["question"], "alternatives": "\n".join(entry.get("alternatives", [])),
        "answer": entry.get("answer", ""), "source": entry.get("source", {}).get("title", ""),
        "source_url": entry.get("source", {}).get("url", ""), "tags": ", ".join(entry.get("tags", [])),
    }


def _table(header, rows_html: str, caption: str = "") -> str:
    cap = f"<caption>{e(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>" + "".join(f"<th scope=col>{e(h)}</th>" for h in header) + f"</tr></thead><tbody>{rows_html}</tbody></table>"


def _cell(value) -> str:
    if isinstance(value, float):
        return f"<td class=num>{value:,.1f}</td>"
    if isinstance(value, int):
        return f"<td class=num>{value:,}</td>"
    return f"<td>{e(value)}</td>"


def _local(when: dt.datetime) -> str:
    return roles.aware(when).astimezone(TZ).strftime("%d/%m/%Y %H:%M")


def pusher_for(name: str, channel) -> Pusher | None:
    """How a running channel delivers an inbox answer to a chat: Telegram sends the message (with its
    follow-up button), the Zalo OA the message, the Zalo Bot Platform the text; other channels (the web chat) cannot push."""
    if name == "telegram":
        return lambda chat_id, out: channel.send(chat_id, out)
    if name == "zalo_oa":  # the OA shows buttons (up to 5; more come numbered)
        return lambda chat_id, out: channel.send(chat_id, out)
    if name == "zalo":
        return lambda chat_id, out: channel.send(chat_id, out.text)
    return None
