"""The shape of the code: no package imports one above it, and nothing outside bot/channels/ names a platform.

The layers, lowest first. A module may import its own unit, its layer and the layers below; an import of a
higher layer (a back-edge) fails here with the line that made it. Imports inside functions count too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOT = ROOT / "bot"

LAYERS: list[tuple[str, ...]] = [
    # small shared things: text, time, rates, privacy, settings, texts, retries, supervision
    ("__init__", "textnorm", "accents", "backoff", "logs", "config", "messages", "intents", "supervise",
     "ratelimit", "privacy", "spreadsheet", "vntime", "worktime"),
    ("storage",),  # database, columns, shared rates; each package keeps its own models
    ("knowledge",),  # content: loaders, models, allow-list
    ("areas", "retrieval", "cli_support"),
    ("faq", "chat", "render", "evaluation"),  # FAQ store; message types every channel speaks
    ("channels",),  # adapters, outbox transports, the registry; handed the service, never importing it
    ("relay",),  # roles, inbox, handoff, delivery
    ("campaigns",),
    ("contests",),  # announce through campaigns
    ("conversation",),  # the service: everything a message can lead to
    ("admin",),  # reports, gaps, admin CLIs
    ("webadmin",),
    ("app", "runner", "cli", "__main__", "migrations"),  # wiring and entry points (Alembic's env included)
]
LEVEL = {unit: i for i, units in enumerate(LAYERS) for unit in units}

PLATFORMS = re.compile(r"telegram|zalo", re.IGNORECASE)
# Outside bot/channels/, only these may name a platform, each for the reason given.
PLATFORM_NAMES_ALLOWED = {
    "bot/config.py": "the settings module keeps each channel's own section (TELEGRAM_*, ZALO_*)",
    "bot/intents.py": "citizens' words: a scam told 'qua Zalo' is about the app, not about our channel",
}
MIGRATIONS = "bot/storage/migrations/versions/"  # history: a revision file never changes once released


def unit_of(module: str) -> str:
    """'bot.relay.inbox' -> 'relay'; 'bot.textnorm' -> 'textnorm'; Alembic's env and revisions -> 'migrations'."""
    parts = module.split(".")
    if parts[:3] == ["bot", "storage", "migrations"]:
        return "migrations"
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1] + (["__init__"] if len(parts) == 2 else [])
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import of a bot module in `path`, at any depth."""
    found = []
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("bot.")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name == "bot":  # `from bot import messages`
                found += [(node.lineno, f"bot.{a.name}") for a in node.names]
            elif name.startswith("bot."):
                found.append((node.lineno, name))
    return found


def sources() -> list[Path]:
    return sorted(p for p in BOT.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_unit_has_a_layer():
    units = {unit_of(module_name(p)) for p in sources()}
    assert units - set(LEVEL) == set(), "put the new package or module in a layer of tests/test_structure.py"


def test_no_package_imports_a_higher_one():
    back_edges = []
    for path in sources():
        here = unit_of(module_name(path))
        for line, target in imports(path):
            there = unit_of(target)
            if LEVEL.get(there, -1) > LEVEL[here]:
                back_edges.append(f"{path.relative_to(ROOT)}:{line}: {here} (layer {LEVEL[here]}) imports {target} "
                                  f"(layer {LEVEL[there]})")
    assert back_edges == []


def test_nothing_outside_the_channels_names_a_platform():
    named = []
    for path in sources():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("bot/channels/") or rel.startswith(MIGRATIONS) or rel in PLATFORM_NAMES_ALLOWED:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PLATFORMS.search(line):
                named.append(f"{rel}:{number}: {line.strip()[:100]}")
    assert named == []


def test_the_structure_check_sees_a_back_edge_and_a_platform_name(tmp_path):
    """The checks above can fail: an import of the conversation service from a channel is a back-edge."""
    assert LEVEL[unit_of("bot.conversation.service")] > LEVEL[unit_of("bot.channels.web")]
    assert unit_of("bot.storage.migrations.env") == "migrations" and unit_of("bot.textnorm") == "textnorm"
    assert PLATFORMS.search("if channel == 'Telegram':") and not PLATFORMS.search("if spec.buttons:")
