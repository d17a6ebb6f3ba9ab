"""The periodic report (admins only): the same figures as `python -m bot report`, every sheet of its workbook as a
table, the chart, and both files to download."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from starlette.responses import Response

from bot import messages
from bot.admin.reports import build_report, parse_period, sheets, write_chart, write_report
from bot.webadmin import texts as t
from bot.vntime import TZ
from bot.webadmin.base import NO_STORE, Ctx, error, page

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportPages:
    def __init__(self, admin) -> None:
        self.db = admin.db
        self.service = admin.service

    def report(self, ctx: Ctx) -> Response:
        label = ctx.request.query_params.get("period", "").strip()[:10] or dt.datetime.now(TZ).strftime("%Y-%m")
        try:
            period = parse_period(label)
        except ValueError:
            return page(ctx, "report.html", 422, title=t.REPORT_TITLE, nav="report", label=label, bad=True)
        data = sheets(self._build(period))
        tables = [(messages.REPORT_SHEETS.get(key, key), header, rows) for key, (header, *rows) in data.items()]  # in order
        return page(ctx, "report.html", title=t.REPORT_TITLE, nav="report", label=label, bad=False, period=period,
                    query=urlencode({"period": period.label}), tables=tables)

    def report_file(self, ctx: Ctx) -> Response:
        kind = ctx.request.query_params.get("kind", "")
        try:
            period = parse_period(ctx.request.query_params.get("period", "")[:10])
        except ValueError:
            return error(ctx.request, 404, t.REPORT_BAD_PERIOD, ctx)
        if kind not in ("xlsx", "png"):
            return error(ctx.request, 404, t.NOT_FOUND, ctx)
        report = self._build(period)
        with tempfile.TemporaryDirectory() as tmp:
            if kind == "png":
                path = Path(tmp) / f"report-{period.label}.png"
                write_chart(report, path)
                media = "image/png"
            else:
                path = write_report(report, Path(tmp), "xlsx")[0]
                media = XLSX
            content = path.read_bytes()
        headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{path.name}"'}
        return Response(content, media_type=media, headers=headers)

    def _build(self, period):
        """The period's report, with its «Chủ đề còn thiếu» sheet grouped by the engine's embedder."""
        with self.service._engine_lock:  # the engine's embedder is not shared across threads
            return build_report(self.db, period, embedder=self.service.engine.embedder)
