"""The web admin (FAQ entries, drafts, history, reports, contests, 👎 answers, gaps) and the team's web inbox,
under /admin: this module assembles the routes of the page modules and runs the checks around each page.

Every page needs a session (bot.webadmin.auth); every POST must carry the session's CSRF token (403 without
it); admin pages refuse team members (403); team members see only the questions of their areas. Pages are
Jinja2 templates with autoescape (bot.webadmin.base, bot/webadmin/templates). Page modules:
account_pages (login, logout), faq_pages (entries, drafts), history_pages (versions, rollback), report_pages,
feedback_pages (👎 answers, gaps), inbox_pages (the team's inbox), contest_pages.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl, quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.faq.store import FaqStore
from bot.channels.inbound import read_body
from bot.conversation.service import ConversationService
from bot.ratelimit import FloodGuard
from bot.relay import roles
from bot.storage.models import User
from bot.webadmin import auth, texts as t
from bot.webadmin.account_pages import AccountPages
from bot.webadmin.base import COOKIE, LOGIN_COOKIE, NO_STORE, PREFIX, Ctx, error
from bot.webadmin.contest_pages import ContestPages
from bot.webadmin.faq_pages import FaqPages
from bot.webadmin.feedback_pages import FeedbackPages
from bot.webadmin.history_pages import HistoryPages
from bot.webadmin.inbox_pages import InboxPages
from bot.webadmin.report_pages import ReportPages

__all__ = ["COOKIE", "LOGIN_COOKIE", "PREFIX", "WebAdmin"]

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 64 * 1024
LOGIN_ATTEMPTS, LOGIN_WINDOW = 30, 300.0  # login POSTs per client address (bot.channels.inbound) per 5 minutes


class WebAdmin:
    def __init__(self, service: ConversationService, knowledge_dir: Path, cookie_secure: str = "auto") -> None:
        self.service = service
        self.db = service.db
        self.store = FaqStore(knowledge_dir, service.db)
        self.cookie_secure = cookie_secure
        self.accounts = AccountPages(self, FloodGuard(LOGIN_ATTEMPTS, LOGIN_WINDOW))  # besides the per-account lockout
        self.faq = FaqPages(self)
        self.history = HistoryPages(self)
        self.reports = ReportPages(self)
        self.feedback = FeedbackPages(self)
        self.inbox = InboxPages(self)
        self.contests = ContestPages(self)

    def routes(self) -> list[Route]:
        p, admin, team, w = PREFIX, "admin", "team", self._wrap
        a, f, h, r, fb, i = self.accounts, self.faq, self.history, self.reports, self.feedback, self.inbox
        return [
            Route(p, w(a.home, team), methods=["GET"]),
            Route(p + "/", w(a.home, team), methods=["GET"]),
            Route(p + "/login", a.login, methods=["GET", "POST"]),
            Route(p + "/logout", w(a.logout, team), methods=["POST"]),
            Route(p + "/faq", w(f.faq_list, admin), methods=["GET"]),
            Route(p + "/faq/new", w(f.faq_new, admin), methods=["GET"]),
            Route(p + "/faq/edit/{entry_id}", w(f.faq_edit, admin), methods=["GET"]),
            Route(p + "/faq/save", w(f.faq_save, admin), methods=["POST"]),
            Route(p + "/faq/retire/{entry_id}", w(f.faq_retire, admin), methods=["POST"]),
            Route(p + "/history", w(h.history, admin), methods=["GET"]),
            Route(p + "/history/rollback/{version}", w(h.rollback, admin), methods=["GET", "POST"]),
            Route(p + "/drafts", w(f.drafts, admin), methods=["GET"]),
            Route(p + "/drafts/reject/{draft_id}", w(f.draft_reject, admin), methods=["POST"]),
            Route(p + "/report", w(r.report, admin), methods=["GET"]),
            Route(p + "/report/file", w(r.report_file, admin), methods=["GET"]),
            *self.contests.routes(w),
            Route(p + "/disliked", w(fb.disliked, admin), methods=["GET"]),
            Route(p + "/disliked/{log_id:int}/phrasing", w(fb.add_phrasing, admin), methods=["POST"]),
            Route(p + "/gaps", w(fb.gaps, admin), methods=["GET"]),
            Route(p + "/inbox", w(i.inbox, team), methods=["GET"]),
            Route(p + "/inbox/{esc_id:int}", w(i.question, team), methods=["GET"]),
            Route(p + "/inbox/{esc_id:int}/{action}", w(i.question_action, team), methods=["POST"]),
        ]

    # -- plumbing ----------------------------------------------------------------------------------

    async def read_form(self, request: Request) -> dict[str, str] | None:
        """A POST's form fields ({} for other methods), or None when it is too large or not a form."""
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
            form = await self.read_form(request)
            if form is None:
                return error(request, 413, t.TOO_LARGE)
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
                return error(request, 403, t.LOGIN_EXPIRED)
            return RedirectResponse(f"{PREFIX}/login?next={quote(request.url.path)}", 303, headers=NO_STORE)
        if request.method == "POST" and not auth.csrf_ok(ctx.session.csrf, ctx.form.get("csrf")):
            return error(request, 403, t.FORBIDDEN_CSRF, ctx)
        if needs == "admin" and ctx.role != "admin":
            return error(request, 403, t.FORBIDDEN_ROLE, ctx)
        return handler(ctx)

    def secure(self, request: Request) -> bool:
        """Whether the session cookies are marked Secure (admin_cookie_secure: auto = when served over https)."""
        return request.url.scheme == "https" if self.cookie_secure == "auto" else self.cookie_secure in ("1", "true", "yes")
