"""Web Push for the web chat (issue 18): the encryption reproduces RFC 8291 Appendix A byte for byte; through
the real web server (uvicorn on 127.0.0.1), a visitor subscribes over HTTP and a fake push service
(tests/fake_web_push.py: a real HTTP server that verifies the VAPID JWT and decrypts the body with the
subscription's private key) receives one notification per team answer (the real relay path) and per
campaign message or quiz push (the real outbox sender), none for the chat's replies or for what an open
page shows live; 410 disables, 429 is retried after Retry-After, 5xx backs off, 400 passes the message
over; a restarted sender sends nothing twice but the one in flight; bad subscriptions get 400."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import time

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select

from bot.areas import load_areas
from bot.campaigns import scheduler
from bot.campaigns.models import Campaign
from bot.channels import web_push, web_push_crypto as crypto
from bot.channels.web_push_models import WebPushSubscription
from bot.config import Settings, SettingsError
from bot.channels import web_messages
from bot.conversation.service import ConversationService
from bot.chat.types import IncomingMessage, OutgoingMessage
from bot.relay import roles
from bot.storage.models import Chat
from tests.conftest import KNOWLEDGE, ROOT
from tests.fake_web_push import FakeWebPush, decrypt, verify_vapid
from tests.pg import database_fixture
from tests.web_events import EventReader
from tests.web_server import QUIZ, database_url, make_service, serve, serve_live

PRIVATE, PUBLIC = crypto.new_key_pair()
PUSH = dict(web_push_vapid_private_key=PRIVATE, web_push_subject="mailto:ops@example.vn", web_push_allow_http=True,
            api_timeout_seconds=1, web_client_max_requests=1000)
QUIET = 1.5  # seconds a test waits to see that nothing more is pushed

# RFC 8291, Appendix A
RFC = dict(
    plaintext=b"When I grow up, I want to be a watermelon",
    as_private="yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
    as_public="BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
    ua_private="q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
    ua_public="BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
    salt="DGv6ra1nlYgDCS1FRnbzlw",
    auth="BTBZMqHH6r4Tts7J_aSIgg",
    body="DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_"
         "yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
)


@pytest.fixture
def push():
    fake = FakeWebPush(server_key=PUBLIC).start()
    yield fake
    fake.close()
    assert fake.problems == []  # every request carried a valid VAPID JWT, the headers and a body that decrypts


@pytest.fixture
def service(small_engine, tmp_path):
    return make_service(small_engine, database_url(tmp_path), flood_limit=100)


def chat(client: httpx.Client, text: str) -> list[dict]:
    response = client.post("/api/chat", json={"text": text})
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def subscribe(client: httpx.Client, subscription: dict, status: int = 201) -> None:
    response = client.post("/api/push/subscribe", json=subscription)
    assert response.status_code == status, response.text


def chat_pk(db, visitor: str) -> int:
    with db.session() as s:
        return s.scalar(select(Chat.id).where(Chat.channel == "web", Chat.external_id == visitor))


def deliver(db, visitor: str, text: str) -> int:
    """A message stored the way the outbox's web sender stores a campaign message (author bot, not a reply)."""
    with db.session() as s:
        return web_messages.deliver(s, chat_pk(db, visitor), OutgoingMessage(text), "bot").id


def subscription_row(db, endpoint: str) -> WebPushSubscription:
    with db.session() as s:
        return s.scalar(select(WebPushSubscription).where(WebPushSubscription.endpoint == endpoint))


def visitor_client(base: str, push: FakeWebPush, name: str, area: str = "/dangky all") -> httpx.Client:
    """A visitor with a chat row (subscribed to news) whose browser subscribed to push as `name`."""
    client = httpx.Client(base_url=base, timeout=30)
    chat(client, area)
    subscribe(client, push.subscription(name))
    return client


# -- the cryptography ---------------------------------------------------------------------------------


def test_encryption_reproduces_rfc8291_appendix_a_byte_for_byte():
    sender = crypto.load_private_key(RFC["as_private"])
    assert crypto.public_key_b64(sender) == RFC["as_public"]
    body = crypto.encrypt(RFC["plaintext"], crypto.b64url_decode(RFC["ua_public"]), crypto.b64url_decode(RFC["auth"]),
                          salt=crypto.b64url_decode(RFC["salt"]), sender=sender)
    assert crypto.b64url(body) == RFC["body"]
    ua = crypto.load_private_key(RFC["ua_private"])  # and the fake push service reads it as a browser would
    assert decrypt(crypto.b64url_decode(RFC["body"]), ua, crypto.b64url_decode(RFC["auth"])) == RFC["plaintext"]
    fresh = crypto.encrypt(b"x" * crypto.MAX_PLAINTEXT, crypto.b64url_decode(RFC["ua_public"]), crypto.b64url_decode(RFC["auth"]))
    assert decrypt(fresh, ua, crypto.b64url_decode(RFC["auth"])) == b"x" * 3993 and fresh[:16] != body[:16]
    with pytest.raises(ValueError):
        crypto.encrypt(b"x" * 3994, crypto.b64url_decode(RFC["ua_public"]), crypto.b64url_decode(RFC["auth"]))


def test_vapid_header_is_an_es256_jwt_for_the_push_services_origin():
    key = crypto.load_private_key(PRIVATE)
    header = crypto.vapid_header(key, "https://fcm.googleapis.com:443/fcm/send/abc?x=1", "mailto:ops@example.vn")
    assert re.fullmatch(r"vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=[\w-]{87}", header)
    claims = verify_vapid(header, "https://fcm.googleapis.com:443", PUBLIC)
    assert claims["sub"] == "mailto:ops@example.vn" and 11.9 * 3600 < claims["exp"] - time.time() <= 12 * 3600
    with pytest.raises(ValueError, match="aud"):
        verify_vapid(header, "https://updates.push.services.mozilla.com", PUBLIC)
    other = crypto.load_private_key(crypto.new_key_pair()[0])
    forged = header.split(", k=")[0] + ", k=" + crypto.public_key_b64(other)  # another key does not verify it
    with pytest.raises(ValueError, match="does not verify"):
        verify_vapid(forged, "https://fcm.googleapis.com:443", None)


def test_the_private_key_may_be_pem_or_raw_and_settings_refuse_what_cannot_work():
    key = crypto.load_private_key(PRIVATE)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    assert crypto.public_key_b64(crypto.load_private_key(pem)) == PUBLIC
    assert crypto.public_key_b64(crypto.load_private_key(pem.replace("\n", "\\n"))) == PUBLIC  # one .env line
    settings = Settings(_env_file=None, web_push_vapid_private_key=pem, web_push_subject="https://bot.example.vn")
    assert web_push.PushConfig.from_settings(settings).public_key == PUBLIC
    assert web_push.PushConfig.from_settings(Settings(_env_file=None)) is None
    bad = [
        (dict(web_push_vapid_private_key=PRIVATE), "web_push_subject", "required"),
        (dict(web_push_vapid_private_key=PRIVATE, web_push_subject="ops@example.vn"), "web_push_subject", "mailto:"),
        (dict(web_push_vapid_public_key=PUBLIC), "web_push_vapid_public_key", "PRIVATE_KEY too"),
    ]
    for values, field, words in bad:
        with pytest.raises(ValidationError) as caught:
            Settings(_env_file=None, **values)
        (error,) = caught.value.errors()
        assert error["loc"] == (field,) and words in error["msg"], (values, error)
    keys = [  # checked when the web channel is made, before it serves: the same kind of operator error
        (dict(web_push_vapid_private_key="abc"), "WEB_PUSH_VAPID_PRIVATE_KEY: a raw P-256 private key is 32 bytes"),
        (dict(web_push_vapid_private_key="-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
         "WEB_PUSH_VAPID_PRIVATE_KEY: not a readable"),
        (dict(web_push_vapid_private_key=PRIVATE, web_push_vapid_public_key=RFC["as_public"]),
         "WEB_PUSH_VAPID_PUBLIC_KEY: is not the public key"),
    ]
    for values, words in keys:
        with pytest.raises(SettingsError, match=re.escape(words)):
            web_push.PushConfig.from_settings(Settings(_env_file=None, web_push_subject="mailto:a@b.vn", **values))


def test_cli_prints_a_key_pair_that_the_settings_take():
    done = subprocess.run([sys.executable, "-m", "bot", "webpush", "keys"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert set(lines) == {"WEB_PUSH_VAPID_PRIVATE_KEY", "WEB_PUSH_VAPID_PUBLIC_KEY"} and "WEB_PUSH_SUBJECT" in done.stderr
    settings = Settings(_env_file=None, web_push_vapid_private_key=lines["WEB_PUSH_VAPID_PRIVATE_KEY"],
                        web_push_vapid_public_key=lines["WEB_PUSH_VAPID_PUBLIC_KEY"], web_push_subject="mailto:a@b.vn")
    assert settings.web_push_on() and len(crypto.b64url_decode(lines["WEB_PUSH_VAPID_PUBLIC_KEY"])) == 65


# -- the routes -------------------------------------------------------------------------------------


def test_without_keys_push_is_off_and_the_page_does_not_ask(service, push):
    with serve(service) as base, httpx.Client(base_url=base, timeout=30) as client:
        client.get("/api/history")
        off = client.get("/api/push/key")
        assert off.status_code == 404 and "off" in off.json()["error"] and off.json()["message"]
        assert client.post("/api/push/subscribe", json=push.subscription("x")).status_code == 404
        assert 'data-push="on"' not in client.get("/").text


def test_with_keys_the_key_the_page_and_the_service_worker_are_served(service):
    with serve(service, **PUSH) as base, httpx.Client(base_url=base, timeout=30) as client:
        key = client.get("/api/push/key")
        assert key.status_code == 200 and key.json() == {"key": PUBLIC} and key.headers["cache-control"] == "no-store"
        page = client.get("/")
        assert page.status_code == 200 and '<body data-push="on" ' in page.text and 'id="push"' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        worker = client.get("/push-sw.js")
        assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/javascript")
        assert "showNotification" in worker.text and "notificationclick" in worker.text


def test_bad_subscriptions_are_refused_with_400_and_nothing_is_stored(service, push):
    good = push.subscription("good")
    point = crypto.b64url_decode(good["keys"]["p256dh"])

    def variant(**changes):
        body = {**good, "keys": dict(good["keys"])}
        for name, value in changes.items():
            if name in ("p256dh", "auth"):
                body["keys"][name] = value
            elif value is None:
                body.pop(name)
            else:
                body[name] = value
        return body

    cases = [
        (variant(endpoint=None), "'endpoint'"),
        (variant(endpoint=42), "'endpoint'"),
        (variant(endpoint="ftp://127.0.0.1/push/x"), "https"),
        (variant(endpoint="http://push.example.vn/push/x"), "https"),  # http only on 127.0.0.1/localhost, and only in tests
        (variant(endpoint="https://push.example.vn/x"), "known push service"),
        (variant(endpoint="https://10.0.0.7/x"), "IP address"),
        (variant(endpoint="https://user:pw@fcm.googleapis.com/x"), "user name"),
        (variant(endpoint="https://fcm.googleapis.com:99999/x"), "valid URL"),
        (variant(endpoint="https://fcm.googleapis.com/" + "a" * 1100), "1024"),
        (variant(endpoint="https://fcm.googleapis.com/ä"), "ASCII"),
        (variant(keys=None), "'keys'"),
        (variant(keys=["p256dh", "auth"]), "'keys'"),
        (variant(p256dh=crypto.b64url(point[:64])), "65 bytes"),
        (variant(p256dh=crypto.b64url(b"\x04" + b"\x01" * 64)), "P-256"),  # not a point on the curve
        (variant(p256dh="+/" + good["keys"]["p256dh"][2:]), "base64url"),  # standard base64's letters, always present
        (variant(p256dh=None), "p256dh"),
        (variant(auth=crypto.b64url(b"x" * 15)), "16 bytes"),
        (variant(auth="!!!!"), "base64url"),
        (variant(expirationTime="tomorrow"), "expirationTime"),
        ([good], "JSON object"),
    ]
    with serve(service, **PUSH) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert client.post("/api/push/subscribe", json=good).status_code == 403  # no visitor cookie yet
        chat(client, "/dangky all")
        for body, words in cases:
            response = client.post("/api/push/subscribe", json=body)
            assert response.status_code == 400 and words in response.json()["error"], (body, response.text)
            assert response.json()["message"]  # and a Vietnamese line for people
        broken = client.post("/api/push/subscribe", content=b'{"endpoint": ', headers={"Content-Type": "application/json"})
        assert broken.status_code == 400 and "JSON" in broken.json()["error"]
        assert client.post("/api/push/subscribe", content=b"{}", headers={"Content-Type": "text/plain"}).status_code == 415
        huge = client.post("/api/push/subscribe", content=b"x" * 20_000, headers={"Content-Type": "application/json"})
        assert huge.status_code == 413
        assert subscription_row(service.db, good["endpoint"]) is None
        subscribe(client, good)  # the good one is taken, and taken again as a renewal
        subscribe(client, good, status=200)
        row = subscription_row(service.db, good["endpoint"])
        assert row.visitor == client.cookies["bdhvs_visitor"] and row.disabled_at is None


# -- what is pushed -----------------------------------------------------------------------------------


db = database_fixture("webpush_test")


def test_a_team_answer_is_pushed_once_and_the_chats_replies_never(small_engine, db, push):
    service = ConversationService(small_engine, db, QUIZ, load_areas(KNOWLEDGE / "areas.yaml"), flood_limit=100)
    with serve(service, **PUSH) as base, httpx.Client(base_url=base, timeout=30) as client:
        chat(client, "/dangky Điện Biên")
        subscribe(client, push.subscription("alice"))
        (ack,) = chat(client, "/canbo mất căn cước thì làm lại ở đâu")  # replies to what the visitor sent: not pushed
        chat(client, "kich hoat vneid muc 2 o dau")
        esc_id = int(re.search(r"#(\d+)", ack["text"])[1])
        with db.session() as s:
            roles.grant(s, roles.find_user(s, "telegram", "team-1", create=True), "team", "dien-bien", "cli")
        service.handle(IncomingMessage(channel="telegram", user_id="team-1", chat_id="team-1", kind="command",
                                       command="traloi", text=f"{esc_id} Bác đến công an xã nhé.", message_id="t-1"))
        (got,) = push.wait(1, "alice", timeout=20)
        answer = client.get("/api/history").json()["messages"][-1]
        assert answer["from"] == "team"
        time.sleep(QUIET)
    assert len(push.requests("alice")) == 1
    message = got.message
    assert message["title"] == "Bình dân học vụ số" and message["data"] == {"id": answer["id"], "url": "./", "from": "team"}
    assert message["body"] == web_push.snippet(answer["text"]) and len(message["body"]) <= 120
    assert message["body"].startswith(f"💬 Tổ công nghệ số cộng đồng trả lời câu hỏi #{esc_id} của bác: Bác đến công an xã nhé.")
    assert got.headers["ttl"] == str(web_push.TTL) and got.headers["urgency"] == "normal"
    assert got.claims["aud"] == push.url and got.claims["sub"] == "mailto:ops@example.vn"
    assert subscription_row(db, push.browsers["alice"].endpoint).last_message_id == answer["id"]


def test_a_campaign_message_and_a_quiz_push_are_each_pushed_once(service, push):
    with serve_live(service, **PUSH) as base:
        client = visitor_client(base, push, "bob", "/dangky Điện Biên")
        now = dt.datetime.now(dt.timezone.utc)
        with service.db.session() as s:
            news = Campaign(text="Thứ Bảy này xã mở lớp dạy dùng VNeID.", area="dien-bien", channel="web", run_at=now)
            quiz = Campaign(kind="quiz", text="Câu đố tuần này", area="all", channel="web", run_at=now)
            s.add_all([news, quiz])
            s.flush()
            ids = news.id, quiz.id
        settings = Settings(_env_file=None, quiet_hours="")
        scheduler.fire(service, settings, ids[0], now)
        (first,) = push.wait(1, "bob", timeout=20)
        scheduler.fire(service, settings, ids[1], now)
        second = push.wait(2, "bob", timeout=20)[1]
        time.sleep(QUIET)
        history = client.get("/api/history").json()["messages"]
        client.close()
    assert len(push.requests("bob")) == 2
    assert first.message["body"].startswith("Thứ Bảy này xã mở lớp dạy dùng VNeID.")
    assert second.message["body"] == web_push.snippet(f"❓ {QUIZ[0].question}")
    assert [first.message["data"]["id"], second.message["data"]["id"]] == [m["id"] for m in history[-2:]]


def test_a_message_shown_on_an_open_page_is_not_pushed(service, push):
    with serve(service, **PUSH, web_events_heartbeat_seconds=0.5) as base:
        client = visitor_client(base, push, "carol")
        visitor = client.cookies["bdhvs_visitor"]
        stream = EventReader(base, visitor)
        try:
            deliver(service.db, visitor, "Tin khi trang đang mở")
            assert stream.next()["text"] == "Tin khi trang đang mở"
            time.sleep(QUIET)
            assert push.requests("carol") == []
        finally:
            stream.close()
        time.sleep(0.3)  # the stream is gone: the next message is pushed
        deliver(service.db, visitor, "Tin khi trang đã đóng")
        (got,) = push.wait(1, "carol")
        client.close()
    assert got.message["body"] == "Tin khi trang đã đóng"


def test_410_disables_the_subscription_until_the_page_subscribes_again(service, push):
    with serve(service, **PUSH) as base:
        client = visitor_client(base, push, "dan")
        visitor, endpoint = client.cookies["bdhvs_visitor"], push.browsers["dan"].endpoint
        push.answer("dan", 410)
        deliver(service.db, visitor, "tin một")
        push.wait(1, "dan", delivered=False)
        deadline = time.monotonic() + 5
        while subscription_row(service.db, endpoint).disabled_at is None:
            assert time.monotonic() < deadline, "not disabled after 410"
            time.sleep(0.05)
        deliver(service.db, visitor, "tin hai")
        time.sleep(QUIET)
        assert len(push.requests("dan")) == 1  # nothing more to a gone subscription
        subscribe(client, push.browsers["dan"].json(), status=200)  # the page's next visit renews it: from now on
        deliver(service.db, visitor, "tin ba")
        (got,) = push.wait(1, "dan")
        client.close()
    assert got.message["body"] == "tin ba" and len(push.requests("dan")) == 2


def test_429_is_retried_once_after_retry_after(service, push):
    with serve(service, **PUSH) as base:
        client = visitor_client(base, push, "erin")
        push.answer("erin", 429, retry_after="1")
        message_id = deliver(service.db, client.cookies["bdhvs_visitor"], "tin thử lại")
        refused, sent = push.wait(2, "erin", delivered=False, timeout=20)
        time.sleep(QUIET)
        client.close()
    assert (refused.status, sent.status) == (429, 201) and len(push.requests("erin")) == 2
    assert 1.0 <= sent.at - refused.at < 3.0  # Retry-After: 1, then at the next look (every second)
    assert refused.message == sent.message and sent.message["data"]["id"] == message_id


def test_500_backs_off_and_400_passes_the_message_over(service, push):
    with serve(service, **PUSH) as base:
        client = visitor_client(base, push, "finn")
        visitor, endpoint = client.cookies["bdhvs_visitor"], push.browsers["finn"].endpoint
        push.answer("finn", 500)
        first = deliver(service.db, visitor, "tin gặp lỗi máy chủ")
        push.wait(1, "finn", delivered=False)
        time.sleep(0.3)
        row = subscription_row(service.db, endpoint)
        wait = (row.retry_at.replace(tzinfo=dt.timezone.utc) if row.retry_at.tzinfo is None else row.retry_at) - web_push.utcnow()
        assert row.failures == 1 and row.last_status == 500 and row.last_message_id < first
        assert 0.5 * web_push.RETRY_FIRST - 1 < wait.total_seconds() <= web_push.RETRY_FIRST  # backoff: 2.5-5 s
        (retried,) = push.wait(1, "finn", timeout=10)
        assert retried.message["data"]["id"] == first
        push.answer("finn", 400)
        deliver(service.db, visitor, "tin bị từ chối")
        deliver(service.db, visitor, "tin sau")
        later = push.wait(2, "finn")[1]
        time.sleep(QUIET)
        client.close()
    statuses = [r.status for r in push.requests("finn")]
    assert statuses == [500, 201, 400, 201] and later.message["body"] == "tin sau"  # the refused one is not sent again


def test_a_restarted_sender_sends_nothing_twice_but_the_one_in_flight(service, push):
    with serve(service, **PUSH) as base:
        client = visitor_client(base, push, "gia")
        visitor = client.cookies["bdhvs_visitor"]
        for text in ("một", "hai"):
            deliver(service.db, visitor, text)
        push.wait(2, "gia")
        push.hold("gia")  # the push service takes the third one and does not answer: the bot stops meanwhile
        deliver(service.db, visitor, "ba")
        push.wait(3, "gia", delivered=False, timeout=10)
        assert push.requests("gia")[-1].status == -1
        client.close()
    deliver(service.db, visitor, "bốn")  # written while no sender runs
    with serve(service, **PUSH):  # the restart: "ba" once its lease is over, then "bốn"
        push.wait(4, "gia", timeout=20)
        time.sleep(QUIET)
    bodies = [r.message["body"] for r in push.requests("gia")]
    assert bodies == ["một", "hai", "ba", "ba", "bốn"]  # "ba" was in flight: sent again; nothing else twice
    assert [r.status for r in push.requests("gia")] == [201, 201, -1, 201, 201]


def test_unsubscribe_stops_pushes_and_only_the_owner_can(service, push):
    with serve(service, **PUSH) as base:
        client = visitor_client(base, push, "hoa")
        endpoint = push.browsers["hoa"].endpoint
        with httpx.Client(base_url=base, timeout=30) as stranger:
            chat(stranger, "/dangky all")
            gone = stranger.post("/api/push/unsubscribe", json={"endpoint": endpoint})
            assert gone.status_code == 200 and gone.json() == {"subscribed": False, "removed": False}
        assert client.post("/api/push/unsubscribe", json={"nope": 1}).status_code == 400
        done = client.post("/api/push/unsubscribe", json={"endpoint": endpoint})
        assert done.status_code == 200 and done.json()["removed"] is True
        deliver(service.db, client.cookies["bdhvs_visitor"], "tin sau khi tắt")
        time.sleep(QUIET)
        client.close()
    assert push.requests("hoa") == [] and subscription_row(service.db, endpoint) is None


# -- anything else ------------------------------------------------------------------------------------

piece = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=120),
                  st.sampled_from(["https://fcm.googleapis.com/fcm/send/x", "http://127.0.0.1:1/push/x", "https://[::1",
                                   "https://fcm.googleapis.com:0/x", "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AY"
                                   "WXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4", "BTBZMqHH6r4Tts7J_aSIgg", "====", "-_"]))
subscription_like = st.fixed_dictionaries({}, optional={
    "endpoint": piece, "expirationTime": piece,
    "keys": st.one_of(piece, st.fixed_dictionaries({}, optional={"p256dh": piece, "auth": piece}))})


@pytest.fixture(scope="module")
def property_base(small_engine, tmp_path_factory):
    with serve(make_service(small_engine, database_url(tmp_path_factory.mktemp("push-props"))), **PUSH) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            chat(client, "/dangky all")
            yield url, client.cookies["bdhvs_visitor"]


@hypothesis_settings(max_examples=150, deadline=None, derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(body=st.one_of(subscription_like, st.lists(piece, max_size=3), piece), path=st.sampled_from(["subscribe", "unsubscribe"]))
def test_no_subscription_body_gets_a_5xx(property_base, body, path):
    base, visitor = property_base
    with httpx.Client(base_url=base, timeout=30, cookies={"bdhvs_visitor": visitor}) as client:
        response = client.post(f"/api/push/{path}", content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 201, 400), (body, response.status_code, response.text[:300])
    if response.status_code == 400:
        assert set(response.json()) == {"error", "message"} and response.json()["error"]
