"""Alembic environment: runs on the connection handed over by bot.storage.db.migrate."""

from alembic import context

import bot.relay.models  # noqa: F401  (relay tables on the same metadata)
import bot.campaigns.models  # noqa: F401  (campaign tables join Base.metadata)
import bot.faq.models  # noqa: F401  (FAQ version tables)
import bot.webadmin.models  # noqa: F401  (web admin accounts and sessions)
import bot.channels.web_messages  # noqa: F401  (the web chat's messages)
import bot.contests.models  # noqa: F401  (contests, rounds, entries, answers)
import bot.channels.web_push_models  # noqa: F401  (web chat push subscriptions)
from bot.storage.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
