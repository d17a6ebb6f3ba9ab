"""Wire the parts together once: engine, database, conversation service."""

from __future__ import annotations

from bot.areas import load_areas
from bot.config import Settings
from bot.conversation.service import ConversationService
from bot.knowledge.loaders import load_quiz_bank
from bot.relay.sla import Schedule
from bot.retrieval.service import BuildProgress, open_engine
from bot.storage.db import Database
from bot.storage.shared import SharedFlood


def build_service(settings: Settings, progress: BuildProgress | None = None) -> ConversationService:
    engine = open_engine(settings.knowledge_dir, settings.index_dir, settings.embedder, progress=progress)
    db = Database.from_settings(settings)
    service = ConversationService(
        engine,
        db,
        load_quiz_bank(settings.knowledge_dir),
        load_areas(settings.knowledge_dir / "areas.yaml"),
        flood_limit=settings.flood_max_messages,
        flood_window=settings.flood_window_seconds,
        public_bot_url=settings.public_bot_url,
        knowledge_dir=settings.knowledge_dir,  # admins' /themfaq writes the FAQ files (versioned, answered live)
        schedule=Schedule.from_settings(settings),  # due times of escalated questions (bot/relay/sla.py)
    )
    if db.engine.dialect.name == "postgresql":  # several workers: one flood limit for all (bot/storage/shared.py)
        service.flood = SharedFlood(db, settings.flood_max_messages, settings.flood_window_seconds)
    return service
