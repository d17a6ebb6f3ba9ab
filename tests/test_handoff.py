"""The handoff on SQLite and PostgreSQL: follow-up codes on every channel, due times in working hours (Vietnam
time) on an injected clock, reminders, overdue questions moved up to the province, and ratings of team answers.

Driven through the real ConversationService and the real SLA sweep; pushes go through bot.relay.delivery with
pushers standing in for the platforms behind Channel.send (the Telegram and Zalo channels have their own tests).
"""

import asyncio
import datetime as dt
import re

import pytest
from sqlalchemy import select

from bot.channels import web_messages
from bot.conversation.service import ConversationService
from bot.relay import inbox
from bot.relay.models import RelayMessage
from bot.knowledge.models import KnowledgeError
from bot.relay.sla import TZ, Schedule, load_holidays, parse_dates, parse_days, parse_hours, parse_windows
from bot.relay.watch import SlaWatch
from bot.storage.models import Escalation
from tests.chat_helpers import AREAS, give, send
from tests.pg import database_fixture

db = database_fixture("handoff_test")
CODE = re.compile(r"Mã câu hỏi: ([A-Z0-9]{6})\b")
PHRASES = ("đang chờ", "đã nhận", "đã trả lời")
TUESDAY_9 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=TZ)  # a working day, in office hours


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now.astimezone(dt.timezone.utc)


@pytest.fixture
def clock():
    return Clock(TUESDAY_9)


@pytest.fixture
def service(small_engine, db, clock):
    return ConversationService(small_engine, db, [], AREAS, flood_limit=1000, clock=clock)


def escalate(service, citizen, question, channel, area="", **kw):
    if area:
        send(service, citizen, "dangky", area, channel=channel, **kw)
    out = send(service, citizen, "canbo", question, channel=channel, **kw)
    code = CODE.search(out[0].text)
    assert code, out[0].text
    return int(re.search(r"#(\d+)", out[0].text)[1]), code[1], out


def track(service, who, code, channel):
    (reply,) = send(service, who, "theodoi", code, channel=channel)
    said = [p for p in PHRASES if p in reply.text]
    assert len(said) == 1, reply.text  # exactly one of the three states
    return said[0], reply.text


# -- working hours -----------------------------------------------------------------------------------


def test_due_times_count_working_hours_in_vietnam_time():
    schedule = Schedule(hours=8)
    at = lambda *a: dt.datetime(*a, tzinfo=TZ)  # noqa: E731
    assert schedule.due(at(2026, 12, 1, 9, 0), "") == at(2026, 12, 2, 9, 30)  # 2.5 h + 3.5 h today, 2 h tomorrow
    assert schedule.due(at(2026, 12, 4, 16, 0), "") == at(2026, 12, 7, 16, 30)  # Friday afternoon: Monday
    assert schedule.due(at(2026, 12, 5, 10, 0), "") == at(2026, 12, 8, 8, 0)  # Saturday: from Monday 7:30
    assert schedule.due(at(2026, 12, 1, 12, 15), "") == at(2026, 12, 2, 14, 0)  # lunch does not count
    utc = at(2026, 12, 1, 9, 0).astimezone(dt.timezone.utc)  # the same instant given in UTC
    assert schedule.due(utc, "") == at(2026, 12, 2, 9, 30)
    assert schedule.remind_at(at(2026, 12, 1, 9, 0), "") == at(2026, 12, 1, 17, 0)  # 2 working hours before
    assert not schedule.working(at(2026, 12, 5, 10, 0)) and schedule.working(at(2026, 12, 1, 14, 0))
    out_of_hours = schedule.promise(at(2026, 12, 5, 10, 0), "")
    assert "trong giờ hành chính, thường trong 8 giờ" in out_of_hours and "7:30 thứ Hai 07/12" in out_of_hours
    assert "ngoài giờ" not in schedule.promise(at(2026, 12, 1, 10, 0), "")


def test_sla_settings_per_area_and_bad_values():
    hours, per_area = parse_hours("8, dien-bien=4, quang-ngai/dak-bla=2.5")
    schedule = Schedule(hours, per_area)
    assert schedule.sla_hours("quang-ngai/dak-bla") == 2.5 and schedule.sla_hours("dien-bien") == 4
    assert schedule.sla_hours("dien-bien/xa-nao-do") == 4 and schedule.sla_hours("lai-chau") == 8
    assert parse_windows("7-11:30, 13:30-17") == ((dt.time(7), dt.time(11, 30)), (dt.time(13, 30), dt.time(17)))
    assert parse_days("1-6") == frozenset(range(1, 7))
    for bad in ("", "dien-bien=4", "tám", "-1", "0"):
        with pytest.raises(ValueError):
            parse_hours(bad)
    for bad in ("17-8", "8", "25-26"):
        with pytest.raises(ValueError):
            parse_windows(bad)
    with pytest.raises(ValueError):
        parse_days("0-9")
    from pydantic import ValidationError

    from bot.config import Settings

    assert Settings(_env_file=None, escalation_sla_hours="6").escalation_sla_hours == "6"
    with pytest.raises(ValidationError, match="working hours"):
        Settings(_env_file=None, escalation_work_hours="sáng")


# -- follow-up codes on every channel ----------------------------------------------------------------


@pytest.mark.parametrize("asked_on,followed_on", [("telegram", "zalo"), ("zalo", "web"), ("web", "telegram")])
def test_a_question_is_followed_by_its_code_on_another_channel_claimed_answered_and_rated(service, db, asked_on, followed_on):
    give(db, "team-db", "team", "dien-bien")
    zalo = {"buttons": False} if asked_on == "zalo" else {}
    esc_id, code, (ack, *_) = escalate(service, "citizen-1", "Tôi là Nguyễn Văn An, làm căn cước cho con ở đâu?", asked_on,
                                       area="dien bien", display_name="Nguyễn Văn An", **zalo)
    assert not set(code) & set("01IO") and "/theodoi " + code in ack.text
    assert "trong giờ hành chính, thường trong 8 giờ" in ack.text
    state, text = track(service, "stranger-1", code.lower(), followed_on)  # the code, typed on another channel
    assert state == "đang chờ" and "9:30 thứ Tư 02/12" in text

    send(service, "team-db", "nhan", str(esc_id))
    state, text = track(service, "stranger-1", code, followed_on)
    assert state == "đã nhận" and "thành viên Tổ công nghệ số cộng đồng" in text and "team-db" not in text

    out = send(service, "team-db", "traloi", f"{esc_id} Bác mang giấy khai sinh của cháu đến công an xã.")
    state, text = track(service, "stranger-1", code, followed_on)
    assert state == "đã trả lời" and "giấy khai sinh của cháu" in text and "Nguyễn Văn An" not in text

    if asked_on == "telegram":  # the answer went straight to the citizen's chat, with 👍/👎 buttons
        answer = next(m for m in out if m.chat_id == "citizen-1")
        assert [b.data for b in answer.buttons[0]] == [f"ra:{esc_id}:1", f"ra:{esc_id}:-1"]
        (rated,) = send(service, "citizen-1", kind="button", data=f"ra:{esc_id}:-1")
    elif asked_on == "web":  # the web chat: the answer is in the visitor's chat at once (history and open pages)
        with db.session() as s:
            answer = web_messages.history(s, "citizen-1")[-1]
        assert answer["from"] == "team" and "giấy khai sinh" in answer["text"]
        assert [b["data"] for b in answer["buttons"][0]] == [f"ra:{esc_id}:1", f"ra:{esc_id}:-1"]
        (rated,) = send(service, "citizen-1", kind="button", data=f"ra:{esc_id}:-1", channel=asked_on)
    else:  # another channel: the answer waits and arrives with the citizen's next message (numbered on Zalo)
        arrived = send(service, "citizen-1", text="alo", channel=asked_on, **zalo)
        assert "giấy khai sinh" in arrived[0].text
        if asked_on == "zalo":
            assert "1. 👍 Hài lòng" in arrived[0].text and "2. 👎 Chưa hài lòng" in arrived[0].text
            (rated,) = send(service, "citizen-1", text="2", channel=asked_on, **zalo)
        else:
            (rated,) = send(service, "citizen-1", kind="button", data=f"ra:{esc_id}:-1", channel=asked_on)
    assert "Xin lỗi vì câu trả lời chưa giúp được" in rated.text
    (other,) = send(service, "stranger-1", kind="button", data=f"ra:{esc_id}:1", channel=followed_on)
    assert "Hài lòng" not in other.text  # only the citizen who asked rates
    with db.session() as s:
        esc = s.get(Escalation, esc_id)
        assert esc.rating == -1 and esc.first_answered_at is not None and esc.code == code


def test_unknown_codes_and_lookups_are_limited(service, db):
    (usage,) = send(service, "c-1", "theodoi", "")
    (unknown,) = send(service, "c-1", "track", "ZZZZZZ")
    (garbage,) = send(service, "c-1", "theodoi", "'; drop table escalations; --")
    for reply in (usage, unknown, garbage):
        assert not any(p in reply.text for p in PHRASES)
    assert "ZZZZZZ" in unknown.text
    for _ in range(25):
        (last,) = send(service, "c-2", "theodoi", "AAAAAA")
    assert "nhiều lần" in last.text


def test_a_reopened_question_is_shown_as_reopened(service, db):
    give(db, "team-db", "team", "dien-bien")
    esc_id, code, _ = escalate(service, "citizen-1", "VNeID có mất phí không?", "telegram", area="dien bien")
    send(service, "team-db", "traloi", f"{esc_id} Miễn phí bác nhé.")
    send(service, "citizen-1", "canbo", f"#{esc_id} thế còn mức 2?")
    (box,) = send(service, "team-db", "hopthu")
    assert "hỏi thêm, chờ trả lời" in box.text and "chưa ai nhận" not in box.text
    assert track(service, "x", code, "zalo")[0] == "đang chờ"


# -- reminders and moving up --------------------------------------------------------------------------


def test_reminders_then_an_overdue_commune_question_goes_to_the_province_and_the_citizen_is_told(service, db, clock):
    give(db, "team-commune", "team", "quang-ngai/dak-bla")
    give(db, "team-commune-zalo", "team", "quang-ngai/dak-bla", channel="zalo")
    give(db, "team-province", "team", "quang-ngai")
    give(db, "team-other", "team", "dien-bien")
    esc_id, code, out = escalate(service, "citizen-1", "xin hỏi thủ tục đăng ký hộ kinh doanh", "telegram", area="dak bla")
    notice = next(m for m in out if m.chat_id == "team-commune")
    assert [b.data for row in notice.buttons for b in row] == [f"cl:{esc_id}"]  # «Nhận» on the notice
    watch = SlaWatch(service)
    pushed: list[tuple[str, str, str]] = []

    def pusher(channel, ok=True):
        async def push(chat_id, message):
            pushed.append((channel, chat_id, message.text))
            return ok
        return push

    service.delivery.add("telegram", pusher("telegram"))
    service.delivery.add("zalo", pusher("zalo", ok=False), buttons=False)

    assert watch.sweep(TUESDAY_9 + dt.timedelta(hours=7)) == []  # 16:00, before the reminder (17:00)
    reminders = watch.sweep(dt.datetime(2026, 12, 1, 17, 0, tzinfo=TZ))
    assert sorted((n.channel, n.chat_id) for n in reminders) == [
        ("telegram", "team-commune"), ("telegram", "team-province"), ("zalo", "team-commune-zalo")]
    assert all("sắp đến hạn" in n.message.text and "9:30 thứ Tư 02/12" in n.message.text for n in reminders)
    assert watch.sweep(dt.datetime(2026, 12, 1, 17, 5, tzinfo=TZ)) == []  # once

    overdue_at = dt.datetime(2026, 12, 2, 9, 31, tzinfo=TZ)
    sent = asyncio.run(watch.run_once(overdue_at))
    team = [(c, who) for c, who, text in pushed if "quá hạn" in text]
    assert sorted(team) == [("telegram", "team-province")]  # the province's team, not the commune's again
    told = [text for c, who, text in pushed if who == "citizen-1"]
    assert len(told) == 1 and code in told[0] and "Quảng Ngãi" in told[0] and sent == 2
    with db.session() as s:
        esc = s.get(Escalation, esc_id)
        assert esc.area == "quang-ngai" and esc.origin_area == "quang-ngai/dak-bla" and esc.status == "open"
        notice_row = s.scalars(select(RelayMessage).where(RelayMessage.author == "notice")).one()
        assert notice_row.delivered is True  # the push was taken: it is not handed over a second time
    assert asyncio.run(watch.run_once(overdue_at + dt.timedelta(hours=1))) == 0  # moved once
    state, text = track(service, "x", code, "zalo")
    assert state == "đang chờ" and "chuyển lên" in text
    (box,) = send(service, "team-province", "hopthu")
    assert f"#{esc_id}" in box.text and "quá hạn" in box.text
    (box,) = send(service, "team-other", "hopthu")
    assert f"#{esc_id}" not in box.text
    assert "Mức" not in send(service, "citizen-1", text="cảm ơn")[0].text  # nothing handed over twice


def test_a_notice_that_cannot_be_pushed_reaches_the_citizen_with_their_next_message(service, db, clock):
    give(db, "team-commune", "team", "quang-ngai/dak-bla")
    esc_id, code, _ = escalate(service, "visitor-1", "hỏi về chữ ký số", "web", area="dak bla")
    watch = SlaWatch(service)
    assert asyncio.run(watch.run_once(dt.datetime(2026, 12, 3, 9, 0, tzinfo=TZ))) == 0  # no web push here
    first = send(service, "visitor-1", text="còn ai không?", channel="web")
    assert code in first[0].text and "chuyển lên" in first[0].text
    again = send(service, "visitor-1", text="alo", channel="web")
    assert not any(code in m.text for m in again)


def test_a_claimed_question_is_reminded_to_its_claimer_and_answered_ones_are_left_alone(service, db, clock):
    give(db, "team-a", "team", "dien-bien")
    give(db, "team-b", "team", "dien-bien")
    claimed, _, _ = escalate(service, "citizen-1", "cài VssID thế nào", "telegram", area="dien bien")
    answered, _, _ = escalate(service, "citizen-2", "quét QR thế nào", "telegram", area="dien bien")
    send(service, "team-a", "nhan", str(claimed))
    send(service, "team-b", "traloi", f"{answered} Mở ứng dụng ngân hàng, chọn Quét QR.")
    notices = SlaWatch(service).sweep(dt.datetime(2026, 12, 1, 17, 0, tzinfo=TZ))
    assert [(n.chat_id, f"#{claimed}" in n.message.text) for n in notices] == [("team-a", True)]
    moved = SlaWatch(service).sweep(dt.datetime(2026, 12, 10, 9, 0, tzinfo=TZ))  # a province: to the admins
    with db.session() as s:
        assert s.get(Escalation, claimed).overdue_at is not None and s.get(Escalation, answered).overdue_at is None
        assert s.get(Escalation, claimed).area == "dien-bien"
    # a province's question: whoever took it (and the admins, none on duty here) hear it is overdue; the citizen is told
    assert [n.chat_id for n in moved] == ["team-a", "citizen-1"]


def test_codes_are_unique_and_typed_loosely(db):
    with db.session() as s:
        codes = {inbox.new_code(s) for _ in range(200)}
    assert len(codes) == 200 and all(re.fullmatch(r"[A-HJ-NP-Z2-9]{6}", c) for c in codes)


# -- public holidays (knowledge/holidays.yaml) and local days off ------------------------------------


def shipped_schedule(**settings) -> Schedule:
    from bot.config import Settings

    return Schedule.from_settings(Settings(_env_file=None, **settings))  # the knowledge directory's holidays.yaml


def test_the_shipped_holidays_are_not_working_days_and_a_swapped_saturday_is():
    schedule = shipped_schedule()
    at = lambda *a: dt.datetime(*a, tzinfo=TZ)  # noqa: E731
    for day in (dt.date(2026, 9, 2), dt.date(2026, 9, 1), dt.date(2026, 8, 31), dt.date(2026, 2, 17), dt.date(2027, 1, 1)):
        assert not schedule.working_day(day), day
    assert schedule.working_day(dt.date(2026, 8, 22))  # a Saturday worked in exchange for Monday 31/8
    assert not schedule.working_day(dt.date(2026, 8, 29)) and schedule.working_day(dt.date(2026, 9, 3))
    # Friday 28/8/2026, the working day before 2/9: 6 working hours that day, the last 2 on Thursday 3/9
    assert schedule.due(at(2026, 8, 28, 9, 0), "") == at(2026, 9, 3, 9, 30)
    assert Schedule().due(at(2026, 8, 28, 9, 0), "") == at(2026, 8, 31, 9, 30)  # without the holidays: Monday
    assert schedule.due(at(2026, 8, 21, 16, 0), "") == at(2026, 8, 22, 16, 30)  # the swapped Saturday counts
    assert schedule.due(at(2026, 2, 13, 16, 0), "") == at(2026, 2, 23, 16, 30)  # Tết: 9 days off
    on_the_day = schedule.promise(at(2026, 9, 2, 10, 0), "")
    assert "trừ ngày lễ, Tết" in on_the_day and "ngoài giờ" in on_the_day and "7:30 thứ Năm 03/09" in on_the_day
    assert schedule.due(at(2026, 12, 1, 9, 0), "") == at(2026, 12, 2, 9, 30)  # an ordinary week is unchanged


def test_local_days_off_and_bad_holiday_data(tmp_path):
    from pydantic import ValidationError

    from bot.config import Settings

    at = lambda *a: dt.datetime(*a, tzinfo=TZ)  # noqa: E731
    schedule = shipped_schedule(escalation_extra_holidays="2026-12-24, 2026-12-28..2026-12-29")
    assert not schedule.working_day(dt.date(2026, 12, 24)) and not schedule.working_day(dt.date(2026, 12, 29))
    assert schedule.due(at(2026, 12, 23, 14, 0), "") == at(2026, 12, 25, 14, 30)  # the 24th skipped
    assert not schedule.working_day(dt.date(2026, 9, 2))  # the shipped days stay
    assert parse_dates("") == frozenset() and len(parse_dates("2027-02-03..2027-02-12")) == 10
    for bad in ("24/12/2026", "2026-12-29..2026-12-24", "2026-02-30", "2026-01-01..2028-01-01"):
        with pytest.raises(ValueError):
            parse_dates(bad)
        with pytest.raises(ValidationError, match="ESCALATION_EXTRA_HOLIDAYS"):
            Settings(_env_file=None, escalation_extra_holidays=bad)
    assert load_holidays(tmp_path / "none.yaml").holidays == frozenset()  # no file: no holidays
    rows = {
        "source is missing": "- {date: 2026-09-02, kind: holiday, name: Quốc khánh, checked: 2026-12-01}",
        "kind": "- {date: 2026-09-02, kind: nghỉ, name: Quốc khánh, source: Luật, checked: 2026-12-01}",
        "date must": "- {date: 2/9/2026, kind: holiday, name: Quốc khánh, source: Luật, checked: 2026-12-01}",
        "checked": "- {date: 2026-09-02, kind: holiday, name: Quốc khánh, source: Luật}",
        "twice": "- {date: 2026-09-02, kind: holiday, name: a, source: b, checked: 2026-12-01}\n"
                 "- {date: 2026-09-02, kind: workday, name: a, source: b, checked: 2026-12-01}",
        "invalid YAML": "- [",
    }
    for problem, text in rows.items():
        path = tmp_path / "holidays.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(KnowledgeError, match=problem):
            load_holidays(path)


def holiday_service(small_engine, db, clock):
    return ConversationService(small_engine, db, [], AREAS, flood_limit=1000, clock=clock, schedule=shipped_schedule())


def test_a_question_asked_the_working_day_before_2_9_is_due_after_it_and_not_reminded_on_the_holiday(small_engine, db):
    clock = Clock(dt.datetime(2026, 8, 28, 14, 0, tzinfo=TZ))  # Friday 28/8/2026, 14:00
    service = holiday_service(small_engine, db, clock)
    give(db, "team-db", "team", "dien-bien")
    esc_id, code, (ack, *_) = escalate(service, "citizen-1", "xin hỏi cách đăng ký tài khoản định danh", "telegram",
                                       area="dien bien")
    with db.session() as s:  # 3 working hours on Friday, then 31/8, 1/9 and 2/9 off: 5 more on Thursday 3/9
        assert aware_local(s.get(Escalation, esc_id).due_at) == dt.datetime(2026, 9, 3, 14, 30, tzinfo=TZ)
    assert "trừ ngày lễ, Tết" in ack.text
    assert "14:30 thứ Năm 03/09" in track(service, "x", code, "zalo")[1]
    watch = SlaWatch(service)
    for day in (31, 1, 2):  # the reminder is due 2 working hours before: not on a day off
        when = dt.datetime(2026, 8 if day == 31 else 9, day, 10, 30, tzinfo=TZ)
        assert watch.sweep(when) == [] and watch.sweep(when.replace(hour=16)) == [], when
    (reminder,) = watch.sweep(dt.datetime(2026, 9, 3, 10, 30, tzinfo=TZ))  # Thursday 3/9: 3 + 3 working hours
    assert reminder.chat_id == "team-db" and "sắp đến hạn" in reminder.message.text
    assert watch.sweep(dt.datetime(2026, 9, 3, 14, 29, tzinfo=TZ)) == []
    moved = watch.sweep(dt.datetime(2026, 9, 3, 14, 30, tzinfo=TZ))  # due: a province's question, the citizen told
    assert [n.chat_id for n in moved] == ["team-db", "citizen-1"]


def aware_local(when: dt.datetime) -> dt.datetime:
    return (when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)).astimezone(TZ)


# -- two tiers: an overdue question at province level is reminded, never left --------------------------


def test_an_overdue_question_at_province_level_is_reminded_to_its_team_and_the_admins_until_answered(service, db, clock):
    give(db, "team-commune", "team", "quang-ngai/dak-bla")
    give(db, "team-province", "team", "quang-ngai")
    give(db, "admin-1", "admin")
    give(db, "team-other", "team", "dien-bien")
    moved_up, code, _ = escalate(service, "citizen-1", "xin hỏi thủ tục đăng ký hộ kinh doanh", "telegram", area="dak bla")
    province, _, _ = escalate(service, "citizen-2", "hỏi về chữ ký số cho hộ kinh doanh", "telegram", area="quang ngai")
    watch = SlaWatch(service)
    at = lambda *a: dt.datetime(*a, tzinfo=TZ)  # noqa: E731

    first = watch.sweep(at(2026, 12, 2, 9, 31))  # both due at 9:30 on Wednesday 2/12
    to = lambda notices, esc: sorted(n.chat_id for n in notices if f"#{esc}" in n.message.text)  # noqa: E731
    assert to(first, moved_up) == ["admin-1", "team-province"]  # the commune's question moved to the province
    assert to(first, province) == ["admin-1", "team-province"]  # already at the top: its team and the admins
    assert sorted(n.chat_id for n in first if "Xin lỗi bác" in n.message.text) == ["citizen-1", "citizen-2"]
    with db.session() as s:
        assert s.get(Escalation, moved_up).area == "quang-ngai" and s.get(Escalation, province).area == "quang-ngai"
    assert watch.sweep(at(2026, 12, 2, 16, 0)) == []  # less than a province's 8 working hours since

    again = watch.sweep(at(2026, 12, 3, 10, 1))  # 8 working hours after 9:31 Wednesday
    assert to(again, moved_up) == ["admin-1", "team-province"] and to(again, province) == ["admin-1", "team-province"]
    assert all("vẫn chưa có câu trả lời" in n.message.text and "9:30 thứ Tư 02/12" in n.message.text for n in again)
    assert not any(n.chat_id.startswith("citizen") for n in again)  # the citizen was told once
    assert watch.sweep(at(2026, 12, 3, 10, 2)) == []

    send(service, "team-province", "nhan", str(province))  # taken: only its claimer (and the admins) from now on
    send(service, "team-province", "traloi", f"{moved_up} Bác đăng ký tại UBND phường.")
    later = watch.sweep(at(2026, 12, 7, 9, 0))  # Friday 4/12 and the weekend passed: one reminder, not one per day
    assert [(n.chat_id, f"#{province}" in n.message.text) for n in later] == [("team-province", True), ("admin-1", True)]
    assert watch.sweep(at(2026, 12, 7, 9, 5)) == []
    assert track(service, "x", code, "zalo")[0] == "đã trả lời"


def test_an_answered_question_reopened_after_its_due_time_is_not_moved_up(service, db, clock):
    give(db, "team-commune", "team", "quang-ngai/dak-bla")
    give(db, "team-province", "team", "quang-ngai")
    esc_id, code, _ = escalate(service, "citizen-1", "hỏi về chữ ký số", "telegram", area="dak bla")
    send(service, "team-commune", "traloi", f"{esc_id} Bác mang căn cước đến phường.")
    send(service, "citizen-1", "canbo", f"#{esc_id} thế còn phí bao nhiêu?")  # reopened, after the first answer
    notices = SlaWatch(service).sweep(dt.datetime(2026, 12, 9, 9, 0, tzinfo=TZ))  # long after the due time
    assert notices == []
    with db.session() as s:
        esc = s.get(Escalation, esc_id)
        assert esc.area == "quang-ngai/dak-bla" and esc.overdue_at is None and esc.status == "open"


# -- 👎 on a team answer: in the admins' 👎 queue, marked as the team's ---------------------------------


def test_a_thumbs_down_on_a_team_answer_is_in_the_admins_queue_as_a_team_answer(service, db):
    from bot.admin import disliked

    give(db, "team-db", "team", "dien-bien")
    answered = send(service, "citizen-2", text="lam sao tra tien bang ma qr")  # the bot answers; 👎 on it
    log_id = next(b.data for m in answered for row in m.buttons for b in row if b.data.startswith("fb:")).split(":")[1]
    send(service, "citizen-2", kind="button", data=f"fb:{log_id}:-1")
    esc_id, _, _ = escalate(service, "citizen-1", "Nhờ cán bộ gọi lại số 0912 345 678 về VNeID", "telegram", area="dien bien")
    send(service, "team-db", "traloi", f"{esc_id} Bác ra công an xã nhé.")
    send(service, "citizen-1", "canbo", f"#{esc_id} còn mức 2 thì sao?")
    send(service, "team-db", "traloi", f"{esc_id} Mức 2 cũng làm ở công an xã.")
    with db.session() as s:
        assert [r.kind for r in disliked.queue(s)] == ["bot"]  # not rated yet: only the bot's answer
    send(service, "citizen-1", kind="button", data=f"ra:{esc_id}:1")
    send(service, "citizen-1", kind="button", data=f"ra:{esc_id}:-1")  # changed to 👎
    with db.session() as s:
        team, bot = disliked.queue(s)
    assert team.team and team.kind == "team" and team.escalation_id == esc_id and team.area == "dien-bien"
    assert team.answer == "Mức 2 cũng làm ở công an xã." and "0912" not in team.question and "VNeID" in team.question
    assert not bot.team and bot.log_id == int(log_id) and bot.chunk_id.startswith("faq:") and bot.escalation_id is None
    from tests.test_webadmin import account, login
    from tests.web_server import serve

    account(db, "admin-dq")
    with serve(service) as base:  # the admins' page shows the team's answer, with the way to its question
        client, _ = login(base, "admin-dq")
        html = client.get("/admin/disliked").text
    assert "Mức 2 cũng làm ở công an xã." in html and f'href="/admin/inbox/{esc_id}"' in html and "0912" not in html
    send(service, "citizen-1", kind="button", data=f"ra:{esc_id}:1")  # back to 👍: out of the queue
    with db.session() as s:
        assert [r.kind for r in disliked.queue(s)] == ["bot"]
