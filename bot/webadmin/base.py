"""What every page of the web admin shares: the request context, the Jinja2 templates and the page layout.

Templates live in bot/webadmin/templates and are rendered with autoescape on: every value a page shows
(FAQ entries, citizens' questions, team answers, contest names, report cells) is escaped by Jinja2; no
template marks anything as safe. The only style sheet is /static/admin.css and there is no script, so
the web chat's strict CSP holds. All Vietnamese words come from bot/webadmin/texts.py (`t` in templates).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from bot import messages
from bot.relay.delivery import Notice
from bot.storage.models import User
from bot.vntime import local
from bot.webadmin import auth, texts as t
from bot.webadmin.models import WebAccount, WebSession

COOKIE = "bdhvs_admin"
LOGIN_COOKIE = "bdhvs_admin_login"  # the login form's CSRF token (double submit: no session yet)
PREFIX = "/admin"
NO_STORE = {"Cache-Control": "no-store"}
TEMPLATES = Path(__file__).parent / "templates"


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


def vn_time(when: dt.datetime | None) -> str:
    """A stored time as people read it on every page: Vietnam time, 01/12/2026 14:05 (bot.vntime)."""
    return "" if when is None else local(when)


def number(value) -> str | None:
    """A table cell's number as the report shows it (1,234 or 12.5), or None for text."""
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return None


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
    )
    env.filters["vntime"] = vn_time
    env.filters["number"] = number
    env.globals.update(t=t, P=PREFIX, role_names=messages.RELAY_ROLE_NAMES, topic_names=messages.TOPIC_NAMES)
    return env


templates = Jinja2Templates(env=_environment())


def render(ctx: Ctx | None, request: Request, name: str, status: int = 200, **context) -> Response:
    """A page: `name` (extending layout.html) with the signed-in header when there is a session."""
    header = ctx is not None and ctx.account is not None
    context = {
        "ctx": ctx, "header": header, "nav": "", "csrf": ctx.session.csrf if header else "",
        "links": [k for k in t.NAV if ctx.role == "admin" or k == "inbox"] if header else [],
        **context,
    }
    return templates.TemplateResponse(request, name, context, status_code=status, headers=NO_STORE)


def page(ctx: Ctx, name: str, status: int = 200, **context) -> Response:
    return render(ctx, ctx.request, name, status, **context)


def error(request: Request, status: int, text: str, ctx: Ctx | None = None) -> Response:
    title = t.NOT_FOUND if status == 404 else t.FORBIDDEN_TITLE
    return render(ctx, request, "error.html", status, title=title, text=text)
