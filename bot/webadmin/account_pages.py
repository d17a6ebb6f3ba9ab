"""Logging in and out of the web admin: the login form (its own double-submit CSRF token, a limit per
client address besides the per-account lockout of bot.webadmin.auth), the session cookie, logout."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.channels.inbound import client_address
from bot.ratelimit import FloodGuard
from bot.relay import roles
from bot.storage.models import User
from bot.webadmin import auth, texts as t
from bot.webadmin.base import COOKIE, LOGIN_COOKIE, NO_STORE, PREFIX, Ctx, error, render


class AccountPages:
    def __init__(self, admin, login_guard: FloodGuard) -> None:
        self.admin = admin  # bot.webadmin.pages.WebAdmin: form reading, cookie settings
        self.db = admin.db
        self.login_guard = login_guard

    async def login(self, request: Request) -> Response:
        form = await self.admin.read_form(request)
        if form is None:
            return error(request, 413, t.TOO_LARGE)
        if request.method == "GET":
            return self._login_page(request, "")
        if not auth.csrf_ok(request.cookies.get(LOGIN_COOKIE, ""), form.get("csrf")):
            return error(request, 403, t.FORBIDDEN_CSRF)
        if not self.login_guard.allow(client_address(request)):
            return self._login_page(request, t.LOGIN_TOO_MANY, 429)
        token, message = await self.db.run(self._authenticate, form.get("name", "")[:64], form.get("password", "")[:1024])
        if token is None:
            return self._login_page(request, message, 401)
        target = form.get("next", "")
        target = target if target.startswith(PREFIX + "/") and "//" not in target else PREFIX + "/"
        response = RedirectResponse(target, 303, headers=NO_STORE)
        response.set_cookie(COOKIE, token, path=PREFIX, httponly=True, samesite="strict", secure=self.admin.secure(request))
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
        response = render(None, request, "login.html", status, title=t.LOGIN_TITLE, login_csrf=csrf, message=message,
                          target=request.query_params.get("next", ""))
        response.set_cookie(LOGIN_COOKIE, csrf, path=PREFIX + "/login", httponly=True, samesite="strict",
                            secure=self.admin.secure(request))
        return response

    def logout(self, ctx: Ctx) -> Response:
        with self.db.session() as s:
            auth.end_session(s, ctx.request.cookies.get(COOKIE, ""))
        response = RedirectResponse(f"{PREFIX}/login", 303, headers=NO_STORE)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    @staticmethod
    def home(ctx: Ctx) -> Response:
        return RedirectResponse(f"{PREFIX}/{'faq' if ctx.role == 'admin' else 'inbox'}", 303, headers=NO_STORE)
