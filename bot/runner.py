"""`python -m bot run`: start the configured channels in one process around one service.

Each channel (bot/channels/registry.py) defines `Channel(service, settings, gate)` with:
  async run(stop: asyncio.Event)  runs until `stop` is set
  routes() -> list                Starlette routes it needs on the web server (webhooks); may be []
  async push(chat_id, message)    (channels that can reach a chat unprompted) -> delivered
The web channel serves its own pages plus every other channel's routes. Each channel gets one rate gate
for the process, which its campaign sender shares.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from bot.faq.live import LiveFaq
from bot.app import build_service
from bot.channels import registry
from bot.channels.web_warmup import Progress, WarmupServer
from bot.config import Settings
from bot.conversation.service import ConversationService
from bot.retrieval.store import index_state
from bot.supervise import supervise



def with_web(channels: list[str]) -> list[str]:
    """The channels to start: a channel that receives by webhook only (`needs_web`) brings the web server."""
    needs = any(registry.get(c).needs_web for c in channels)
    return ["web", *channels] if needs and "web" not in channels else channels


def build_channels(service: ConversationService, settings: Settings, channels: list[str]) -> tuple[dict, dict]:
    """The channel instances and their rate gates (one per channel: replies and campaign sends share it); the
    web server also serves the web admin and the team's web inbox (bot/webadmin)."""
    gates = registry.gates(settings, channels)
    instances = {name: registry.channel_class(name)(service, settings, gates[name]) for name in channels}
    if "web" in instances:
        from bot.webadmin.pages import WebAdmin

        instances["web"].add_routes(WebAdmin(service, settings.knowledge_dir, settings.admin_cookie_secure).routes())
    return instances, gates


async def run(settings: Settings, channels: list[str]) -> None:
    channels = with_web(channels)
    if "web" in channels and not settings.web_port:
        raise RuntimeError(f"{', '.join(c for c in channels if c != 'web')} needs the web server for its webhook: set WEB_PORT")
    service = await _build_service_serving_warmup(settings) if "web" in channels else build_service(settings)
    instances, gates = build_channels(service, settings, channels)
    loop = asyncio.get_running_loop()
    connect(service, instances, loop)
    connect_transports(service, settings, instances, gates)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"running channels: {', '.join(channels)}", file=sys.stderr)
    tasks = [asyncio.create_task(c.run(stop), name=n) for n, c in instances.items()]
    # Background tasks are supervised (bot/supervise.py): a failure is logged and the task restarts with
    # backoff; /healthz reports it. Channels are not: one that fails stops the process.
    if settings.scheduler_enabled:  # campaigns: the scheduler and the outbox senders (bot/campaigns)
        from bot.campaigns.scheduler import Campaigns

        tasks.append(asyncio.create_task(supervise("campaigns", Campaigns(service, settings, gates).run, stop), name="campaigns"))
    # due times of escalated questions: reminders, and overdue ones moved up to the province (bot/relay/watch.py)
    from bot.relay.watch import SlaWatch

    watch = SlaWatch(service, settings.escalation_check_seconds)
    tasks.append(asyncio.create_task(supervise("sla-watch", watch.run, stop), name="sla-watch"))
    # FAQ edits (from the CLI or another process) answered within seconds: bot/faq/live.py
    live = LiveFaq(service.engine, service.db, settings.knowledge_dir, settings.index_dir)
    tasks.append(asyncio.create_task(supervise("faq-live", live.run, stop), name="faq-live"))
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if task.exception():
            raise task.exception()


def connect(service: ConversationService, instances: dict, loop: asyncio.AbstractEventLoop) -> None:
    """Channels of one process reach each other: the web server serves the others' webhooks; team answers,
    reminders and notices (a web visitor's question for a member on another channel) reach chats on their
    channel now."""
    service.delivery.bind(loop)
    web = instances.get("web")
    for name, channel in instances.items():
        if channel is not web and web is not None:
            web.add_routes(channel.routes())
        if callable(getattr(channel, "push", None)):
            service.delivery.add(name, channel.push, buttons=registry.get(name).buttons)


def connect_transports(service: ConversationService, settings: Settings, instances: dict, gates: dict) -> None:
    """Channels configured but not started in this process still get team answers and notices now: through
    their outbox transport (bot.channels.outbound.TransportPush), text only, within a rate gate of their own."""
    import httpx

    from bot.channels.outbound import TransportPush
    from bot.ratelimit import RateGate

    http = None
    for name in registry.configured(settings):
        if name in instances or not registry.get(name).outbox:
            continue
        http = http or httpx.Client(timeout=settings.api_timeout_seconds)  # lives as long as the process
        gate = gates.setdefault(name, RateGate(registry.get(name).rate(settings)))
        service.delivery.add(name, TransportPush(registry.transport(name, service.db, settings, http), gate), buttons=False)


async def _build_service_serving_warmup(settings: Settings) -> ConversationService:
    """Build the service (a first index build takes minutes) while the web port already answers people
    with a "getting ready" page and /healthz with `building` (bot/channels/web_warmup.py)."""
    if index_state(settings.index_dir, settings.knowledge_dir, settings.embedder) in ("ready", "mismatch"):
        return build_service(settings)
    progress = Progress()
    warmup = WarmupServer(settings.web_host, settings.web_port, progress)
    await warmup.start()
    try:
        return await asyncio.to_thread(build_service, settings, progress)
    finally:
        await warmup.stop()
