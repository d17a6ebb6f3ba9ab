"""The web admin's contest pages (admins only): create a contest, watch it (counts per area, the
leaderboard with masked phone numbers, its announcements and when they go out), close it (results
announced through the outbox) and download the committee's workbook. Same rules as every admin page:
templates with autoescape, CSRF-checked POSTs, times read and shown in Vietnam time."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import func, select
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.areas import ALL
from bot.campaigns.models import Campaign, CampaignRun
from bot.contests import announce, service as cs
from bot.contests.export import area_rows, masked, workbook
from bot.contests.models import DONE, Contest, ContestEntry, ContestRound
from bot.storage.models import parse_id
from bot.textnorm import clean
from bot.webadmin import texts as t
from bot.webadmin.base import NO_STORE, PREFIX, Ctx, error, page

FORM_FIELDS = ("name", "opens", "closes", "questions", "seconds", "attempts", "topics", "area", "prizes", "rules")
NUMBER_FIELDS = ("questions", "seconds", "attempts")
REQUIRED = ("name", "closes", "questions", "seconds")
ANNOUNCEMENTS = ("opening", "reminder", "results")  # the kinds of bot.contests.announce, keyed contest:<round>:<kind>


class ContestPages:
    def __init__(self, admin) -> None:
        self.admin = admin  # bot.webadmin.pages.WebAdmin
        self.service = admin.service
        self.db = admin.db

    def routes(self, wrap) -> list[Route]:
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
        rows = []
        with self.db.session() as s:
            for c in s.scalars(select(Contest).order_by(Contest.id.desc())):
                rnd = cs.latest_round(s, c.id, now)
                done = s.scalar(select(func.count()).select_from(ContestEntry).join(ContestRound, ContestRound.id == ContestEntry.round_id)
                                .where(ContestRound.contest_id == c.id, ContestEntry.step == DONE))
                rows.append((c.id, c.name, t.CONTEST_STATUS[self._state(c, rnd, now)], rnd.number, rnd.opens_at, rnd.closes_at, done))
        defaults = {"questions": "10", "seconds": "300", "attempts": "1", "area": ALL}
        areas = [(ALL, t.CONTEST_ALL_AREAS)] + [(a.code, a.name) for a in self.service.areas]
        return page(ctx, "contests.html", status, title=t.CONTESTS_TITLE, nav="contests", notice=notice, error=status >= 400,
                    rows=rows, values={**defaults, **(values or {})}, fields=FORM_FIELDS, numbers=NUMBER_FIELDS,
                    required=REQUIRED, areas=areas)

    def create(self, ctx: Ctx) -> Response:
        form = {k: clean(ctx.form.get(k, "")).strip()[:2000] for k in FORM_FIELDS}
        now = self._now()
        try:
            numbers = {}
            for k in NUMBER_FIELDS:
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
                return error(ctx.request, 404, t.CONTEST_NOT_FOUND, ctx)
            all_rounds = cs.rounds(s, contest.id)
            lines = [(rnd, t.CONTEST_STATUS[self._state(contest, rnd, now)]) for rnd in all_rounds]
            rnd = cs.latest_round(s, contest.id, now)
            areas = area_rows(s, [rnd.id], names)
            board = [(b.rank, b.name, names.get(b.area, b.area), masked(b.phone), b.correct, b.seconds,
                      b.prediction if b.prediction is not None else "") for b in cs.standings(s, rnd, now)[:50]]
            announcements = self._announcements(s, all_rounds)
            name, contest_id, closed = contest.name, contest.id, contest.status == "closed"
        return page(ctx, "contest.html", title=name, nav="contests", notice=notice, lines=lines, areas=areas, board=board,
                    announcements=announcements, closed=closed, base=f"{PREFIX}/contests/{contest_id}")

    @staticmethod
    def _announcements(s, rounds: list[ContestRound]) -> list[tuple]:
        """Each announcement campaign of the contest's rounds: round, kind, when it goes out, where it stands."""
        out = []
        for rnd in rounds:
            for kind in ANNOUNCEMENTS:
                row = s.scalar(select(Campaign).where(Campaign.key == f"contest:{rnd.id}:{kind}"))
                if row is None:
                    continue
                started = s.scalar(select(CampaignRun.id).where(CampaignRun.campaign_id == row.id).limit(1)) is not None
                state = "cancelled" if row.status == "cancelled" else "started" if started else "waiting"
                out.append((rnd.number, t.CONTEST_ANNOUNCEMENT_KINDS[kind], row.run_at, t.CONTEST_ANNOUNCEMENT_STATES[state]))
        return out

    def close(self, ctx: Ctx) -> Response:
        with self.db.session() as s:
            contest = self._contest(s, ctx)
            if contest is None:
                return error(ctx.request, 404, t.CONTEST_NOT_FOUND, ctx)
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
                return error(ctx.request, 404, t.CONTEST_NOT_FOUND, ctx)
            now = self._now()
            rnd = cs.latest_round(s, contest.id, now)
            path = workbook(s, contest, rnd, self.service.quiz, self._names(), now,
                            Path(tmp) / f"cuoc-thi-{contest.id}-vong-{rnd.number}.xlsx")
            content = path.read_bytes()
        headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{path.name}"'}
        return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers=headers)
