"""The web admin's contest pages (admins only): create a contest, watch it (counts per area, the
leaderboard with masked phone numbers), close it (results announced through the outbox) and download the
committee's workbook. Same rules as every admin page: server-rendered, escaped, CSRF-checked POSTs."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import func, select
from starlette.responses import RedirectResponse, Response

from bot.areas import ALL
from bot.contests import announce, service as cs
from bot.contests.export import area_rows, masked, workbook
from bot.contests.models import DONE, Contest, ContestEntry, ContestRound
from bot.storage.models import parse_id
from bot.textnorm import clean
from bot.webadmin import texts as t
from bot.webadmin.pages import NO_STORE, PREFIX, Ctx, _cell, _table, e

FORM_FIELDS = ("name", "opens", "closes", "questions", "seconds", "attempts", "topics", "area", "prizes", "rules")


class ContestPages:
    def __init__(self, admin) -> None:
        self.admin = admin  # bot.webadmin.pages.WebAdmin: page layout, forms, the service
        self.service = admin.service
        self.db = admin.db

    def routes(self, wrap) -> list:
        from starlette.routing import Route

        p = PREFIX + "/contests"
        return [
            Route(p, wrap(self.index, "admin"), methods=["GET"]),
            Route(p + "/new", wrap(self.create, "admin"), methods=["POST"]),
            Route(p + "/{contest_id:int}", wrap(self.watch, "admin"), methods=["GET"]),
            Route(p + "/{contest_id:int}/close", wrap(self.close, "admin"), methods=["POST"]),
            Route(p + "/{contest_id:int}/export", wrap(self.export, "admin"), methods=["GET"]),
        ]

    def _now(self):
        return self.service.contests.clock()

    def _names(self) -> dict[str, str]:
        return cs.area_names(self.service.areas)

    # -- list and create ----------------------------------------------------------------------------

    def index(self, ctx: Ctx, values: dict | None = None, notice: str = "", status: int = 200) -> Response:
        now = self._now()
        rows = ""
        with self.db.session() as s:
            for c in s.scalars(select(Contest).order_by(Contest.id.desc())):
                rnd = cs.latest_round(s, c.id, now)
                done = s.scalar(select(func.count()).select_from(ContestEntry).join(ContestRound, ContestRound.id == ContestEntry.round_id)
                                .where(ContestRound.contest_id == c.id, ContestEntry.step == DONE))
                state = self._state(c, rnd, now)
                rows += ("<tr>" + _cell(c.id) + _cell(c.name) + _cell(t.CONTEST_STATUS[state]) + _cell(rnd.number)
                         + _cell(_local(rnd.opens_at)) + _cell(_local(rnd.closes_at)) + _cell(done)
                         + f'<td><a href="{PREFIX}/contests/{c.id}">{e(t.CONTEST_WATCH)}</a></td></tr>')
        body = self.admin._notice(notice, error=status >= 400)
        body += _table(t.CONTESTS_COLUMNS, rows) if rows else f"<p>{e(t.CONTESTS_EMPTY)}</p>"
        body += f"<h2>{e(t.CONTEST_NEW_TITLE)}</h2>" + self._form(ctx, values or {})
        return self.admin._page(t.CONTESTS_TITLE, body, ctx, status, nav="contests")

    def _form(self, ctx: Ctx, values: dict) -> str:
        defaults = {"questions": "10", "seconds": "300", "attempts": "1", "area": ALL}
        v = {**defaults, **values}
        inner = ""
        for name in FORM_FIELDS:
            label = f'<label for="c-{name}">{e(t.CONTEST_FIELDS[name])}</label>'
            if name == "area":
                options = [(ALL, t.CONTEST_ALL_AREAS)] + [(a.code, a.name) for a in self.service.areas]
                opts = "".join(f'<option value="{e(code)}"{" selected" if code == v.get("area") else ""}>{e(n)}</option>'
                               for code, n in options)
                inner += label + f'<select id="c-{name}" name="{name}">{opts}</select>'
            elif name == "rules":
                inner += label + f'<textarea id="c-{name}" name="{name}" rows="3">{e(v.get(name, ""))}</textarea>'
            else:
                kind = "number" if name in ("questions", "seconds", "attempts") else "text"
                required = " required" if name in ("name", "closes", "questions", "seconds") else ""
                inner += label + f'<input type="{kind}" id="c-{name}" name="{name}" value="{e(v.get(name, ""))}"{required}>'
        inner += f"<button>{e(t.CONTEST_CREATE)}</button>"
        return self.admin._form_html(f"{PREFIX}/contests/new", inner, ctx)

    def create(self, ctx: Ctx) -> Response:
        form = {k: clean(ctx.form.get(k, "")).strip()[:2000] for k in FORM_FIELDS}
        now = self._now()
        try:
            numbers = {}
            for k in ("questions", "seconds", "attempts"):
                if not (form[k] or "1").isdigit() or len(form[k]) > 6:
                    raise cs.ContestError(f"{t.CONTEST_FIELDS[k]}: {form[k][:20]}")
                numbers[k] = int(form[k] or "1")
            area = form["area"] or ALL
            if area != ALL and area not in self._names():
                raise cs.ContestError(f"{t.CONTEST_FIELDS['area']}: {area[:40]}")
            spec = cs.RoundSpec(opens=cs.parse_time(form["opens"] or "now") if form["opens"] else now,
                                closes=cs.parse_time(form["closes"]), topics=tuple(x.strip() for x in form["topics"].split(",") if x.strip()),
                                prizes=tuple(cs.parse_prizes(form["prizes"])), **numbers)
            with self.db.session() as s:
                contest = cs.create(s, self.service.quiz, form["name"], spec, area=area, rules=form["rules"],
                                    created_by=ctx.actor, now=now)
                announce.schedule(s, contest, cs.rounds(s, contest.id)[0], now)
                contest_id = contest.id
        except cs.ContestError as exc:
            return self.index(ctx, form, t.CONTEST_BAD.format(problem=exc), 422)
        return RedirectResponse(f"{PREFIX}/contests/{contest_id}?created=1", 303, headers=NO_STORE)

    # -- watch, close, export ------------------------------------------------------------------------

    def _contest(self, s, ctx: Ctx) -> Contest | None:
        contest_id = parse_id(ctx.request.path_params.get("contest_id", ""))
        return s.get(Contest, contest_id) if contest_id else None

    @staticmethod
    def _state(contest: Contest, rnd: ContestRound, now) -> str:
        if cs.is_open(contest, rnd, now):
            return "open"
        return "waiting" if contest.status == "open" and cs.utc(rnd.opens_at) > now else "closed"

    def watch(self, ctx: Ctx, notice: str = "") -> Response:
        now, names = self._now(), self._names()
        if ctx.request.query_params.get("created"):
            notice = notice or t.CONTEST_CREATED.format(id=ctx.request.path_params.get("contest_id"))
        with self.db.session() as s:
            contest = self._contest(s, ctx)
            if contest is None:
                return self.admin._error(404, t.CONTEST_NOT_FOUND, ctx)
            body = self.admin._notice(notice)
            for rnd in cs.rounds(s, contest.id):
                body += "<p>" + e(t.CONTEST_ROUND_LINE.format(
                    number=rnd.number, opens=_local(rnd.opens_at), closes=_local(rnd.closes_at), questions=rnd.questions,
                    seconds=rnd.seconds, attempts=rnd.attempts, state=t.CONTEST_STATUS[self._state(contest, rnd, now)])) + "</p>"
            rnd = cs.latest_round(s, contest.id, now)
            areas = area_rows(s, [rnd.id], names)
            board = cs.standings(s, rnd, now)[:50]
            closed = contest.status == "closed"
        base = f"{PREFIX}/contests/{contest.id}"
        body += (f'<p><a href="{base}">{e(t.CONTEST_REFRESH)}</a> · '
                 f'<a href="{base}/export" download>{e(t.CONTEST_EXPORT)}</a></p>')
        cells = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in areas)
        body += _table(t.CONTEST_AREA_COLUMNS, cells, caption=t.CONTEST_AREAS_CAPTION)
        if board:
            cells = "".join("<tr>" + "".join(_cell(v) for v in (
                b.rank, b.name, names.get(b.area, b.area), masked(b.phone), b.correct, b.seconds,
                b.prediction if b.prediction is not None else "")) + "</tr>" for b in board)
            body += _table(t.CONTEST_BOARD_COLUMNS, cells, caption=t.CONTEST_BOARD_CAPTION)
        else:
            body += f"<p>{e(t.CONTEST_BOARD_EMPTY)}</p>"
        if not closed:
            body += self.admin._form_html(f"{base}/close", f'<button class="secondary">{e(t.CONTEST_CLOSE)}</button>', ctx)
        return self.admin._page(contest.name, body, ctx, nav="contests")

    def close(self, ctx: Ctx) -> Response:
        with self.db.session() as s:
            contest = self._contest(s, ctx)
            if contest is None:
                return self.admin._error(404, t.CONTEST_NOT_FOUND, ctx)
            if contest.status == "closed":
                notice = t.CONTEST_ALREADY_CLOSED
            else:
                announce.close(s, contest, self._names(), self._now())
                notice = t.CONTEST_CLOSED
        return self.watch(ctx, notice)

    def export(self, ctx: Ctx) -> Response:
        with self.db.session() as s, tempfile.TemporaryDirectory() as tmp:
            contest = self._contest(s, ctx)
            if contest is None:
                return self.admin._error(404, t.CONTEST_NOT_FOUND, ctx)
            now = self._now()
            rnd = cs.latest_round(s, contest.id, now)
            path = workbook(s, contest, rnd, self.service.quiz, self._names(), now,
                            Path(tmp) / f"cuoc-thi-{contest.id}-vong-{rnd.number}.xlsx")
            content = path.read_bytes()
        headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{path.name}"'}
        return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers=headers)


def _local(when) -> str:
    return cs.utc(when).astimezone(cs.TZ).strftime("%d/%m/%Y %H:%M")
