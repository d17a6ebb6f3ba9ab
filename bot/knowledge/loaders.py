"""Load a knowledge directory into chunks, quiz questions, campaigns and the allow-list."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any

import yaml

from bot.accents import AccentRestorer
from bot.knowledge import plaintext
from bot.knowledge.allowlist import safe_ref
from bot.knowledge.models import (
    AllowItem,
    Campaign,
    Chunk,
    KnowledgeBase,
    KnowledgeError,
    Provenance,
    QuizQuestion,
)
from bot.textnorm import clean, nfc

CONTENT_SUFFIXES = {".yaml", ".yml", ".md", ".txt"}
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def content_hash(kb_dir: Path) -> str:
    """Hash of every content file (path and bytes): changes whenever the knowledge changes."""
    digest = hashlib.sha256()
    for path in sorted(_content_files(kb_dir)):
        digest.update(str(path.relative_to(kb_dir)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _content_files(kb_dir: Path) -> list[Path]:
    return [p for p in kb_dir.rglob("*") if p.is_file() and p.suffix in CONTENT_SUFFIXES]


def load_knowledge(kb_dir: Path | str) -> KnowledgeBase:
    kb_dir = Path(kb_dir)
    if not kb_dir.is_dir():
        raise KnowledgeError(f"knowledge directory not found: {kb_dir}")
    kb = KnowledgeBase(content_hash=content_hash(kb_dir))
    for path in sorted((kb_dir / "faq").glob("*.y*ml")):
        kb.chunks.extend(load_faq(path, kb_dir))
    for path in sorted((kb_dir / "guides").glob("*.md")):
        kb.chunks.extend(load_guide(path, kb_dir))
    restorer = AccentRestorer()
    for chunk in kb.chunks:
        restorer.learn(chunk.passage())
    source_dir = kb_dir / "sources"
    registry = _source_registry(source_dir / "README.md")
    for path in sorted(source_dir.glob("*.txt")):
        raw = path.read_text(encoding="utf-8", errors="replace")
        if not plaintext.is_unaccented(raw):  # OCR text would teach its own noise
            restorer.learn(raw)
    for path in sorted(source_dir.glob("*.txt")):
        kb.chunks.extend(load_source(path, kb_dir, registry.get(path.name, {}), restorer))
    kb.quiz = load_quiz_bank(kb_dir)
    for path in sorted((kb_dir / "campaigns").glob("*.y*ml")):
        kb.campaigns.extend(load_campaigns(path))
    for path in sorted((kb_dir / "allowlist").glob("*.y*ml")):
        kb.allowlist.extend(load_allowlist(path))
    _check_unique([c.id for c in kb.chunks], "chunk")
    _check_unique([c.id for c in kb.campaigns], "campaign")
    return kb


def load_quiz_bank(kb_dir: Path) -> list[QuizQuestion]:
    """Only the quiz files: what a running bot needs besides its index (reading the whole knowledge
    base, with the OCR repair of the plans, costs seconds at every start)."""
    quiz = [q for path in sorted((kb_dir / "quiz").glob("*.y*ml")) for q in load_quiz(path)]
    _check_unique([q.id for q in quiz], "quiz question")
    return quiz


def _check_unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise KnowledgeError(f"duplicate {what} id: {i}")
        seen.add(i)


def _yaml_list(path: Path) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{path}: invalid YAML: {exc}") from exc
    except ValueError as exc:  # a date-looking value that is no date, e.g. 2026-13-01
        raise KnowledgeError(f"{path}: invalid date: {exc}") from exc
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise KnowledgeError(f"{path}: expected a YAML list of entries")
    return data


def _require(entry: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    missing = [k for k in keys if entry.get(k) in (None, "", [])]
    if missing:
        raise KnowledgeError(f"{where}: missing {', '.join(missing)}")


def _date(value: Any, where: str, key: str = "updated") -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise KnowledgeError(f"{where}: '{key}' must be a date like 2026-11-23") from exc


def _review_dates(entry: dict[str, Any], where: str) -> tuple[str, str, str]:
    """checked, review_by and the optional superseded note of a FAQ entry."""
    checked = _date(entry["checked"], where, "checked")
    review_by = _date(entry["review_by"], where, "review_by")
    if review_by <= checked:
        raise KnowledgeError(f"{where}: 'review_by' ({review_by}) must come after 'checked' ({checked})")
    superseded = entry.get("superseded")
    if superseded is not None and not (isinstance(superseded, str) and superseded.strip()):
        raise KnowledgeError(f"{where}: 'superseded' is a short note (which text replaced which)")
    return checked, review_by, clean(superseded or "")


def _source_title(source: Any, where: str) -> tuple[str, str]:
    if isinstance(source, str):
        return clean(source), ""
    if isinstance(source, dict) and source.get("title"):
        url = str(source.get("url") or "")
        if not safe_ref(url):
            raise KnowledgeError(f"{where}: source url {url[:80]!r} must be an http(s) address or a relative link")
        return clean(str(source["title"])), url
    raise KnowledgeError(f"{where}: 'source' needs a title (document number, issuer, date)")


def load_faq(path: Path, kb_dir: Path) -> list[Chunk]:
    rel = str(path.relative_to(kb_dir))
    chunks = []
    for entry in _yaml_list(path):
        where = f"{rel}: entry {entry.get('id', '?')}"
        _require(entry, ("id", "topic", "question", "answer", "source", "updated", "checked", "review_by"), where)
        if not _ID.match(str(entry["id"])):
            raise KnowledgeError(f"{where}: id must be lowercase letters, digits and '-'")
        alternatives = entry.get("alternatives") or []
        if not isinstance(alternatives, list) or len(alternatives) < 2:
            raise KnowledgeError(f"{where}: needs at least 2 alternative phrasings")
        title, url = _source_title(entry["source"], where)
        checked, review_by, superseded = _review_dates(entry, where)
        chunks.append(
            Chunk(
                id=f"faq:{entry['id']}",
                kind="faq",
                topic=str(entry["topic"]),
                title=clean(str(entry["question"])),
                text=nfc(str(entry["answer"])).strip(),
                source=Provenance(file=rel, section=str(entry["id"]), title=title, url=url),
                updated=_date(entry["updated"], where),
                alternatives=tuple(clean(str(a)) for a in alternatives),
                tags=tuple(str(t) for t in entry.get("tags") or ()),
                checked=checked,
                review_by=review_by,
                superseded=superseded,
            )
        )
    return chunks


_FRONT_MATTER = re.compile(r"^---\s*\n(.*?)\n---\s*\n", re.S)


def load_guide(path: Path, kb_dir: Path) -> list[Chunk]:
    rel = str(path.relative_to(kb_dir))
    raw = nfc(path.read_text(encoding="utf-8"))
    match = _FRONT_MATTER.match(raw)
    if not match:
        raise KnowledgeError(f"{rel}: a guide starts with front matter (title, topic, source, updated)")
    meta = yaml.safe_load(match.group(1)) or {}
    _require(meta, ("title", "topic", "source", "updated"), rel)
    title, url = _source_title(meta["source"], rel)
    updated = _date(meta["updated"], rel)
    chunks = []
    for n, (heading, body) in enumerate(_markdown_sections(raw[match.end() :])):
        if not body:
            continue
        slug = f"{path.stem}-{n}"
        for k, text in enumerate(plaintext._pack([body]) if len(body) > plaintext._MAX_CHUNK else [body]):
            chunks.append(
                Chunk(
                    id=f"guide:{slug}" + (f"-{k}" if k else ""),
                    kind="guide",
                    topic=str(meta["topic"]),
                    title=heading or str(meta["title"]),
                    text=text,
                    source=Provenance(file=rel, section=heading, title=title, url=url),
                    updated=updated,
                )
            )
    return chunks


def _markdown_sections(body: str) -> list[tuple[str, str]]:
    """Split at '## ' headings; text before the first heading is a section of its own."""
    sections: list[tuple[str, str]] = []
    heading, lines = "", []
    for line in body.splitlines():
        if line.startswith("## "):
            sections.append((heading, "\n".join(lines).strip()))
            heading, lines = line[3:].strip(), []
        elif not line.startswith("# "):
            lines.append(line)
    sections.append((heading, "\n".join(lines).strip()))
    return sections


def _source_registry(readme: Path) -> dict[str, dict[str, str]]:
    """Issuer and date per file from the sources README table: | file | issuer, date | what |."""
    registry: dict[str, dict[str, str]] = {}
    if not readme.exists():
        return registry
    for line in readme.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].endswith(".txt"):
            issuer, _, date = cells[1].rpartition(",")
            registry[cells[0]] = {
                "issuer": issuer.strip() or cells[1],
                "date": date.strip(),
                "what": cells[2],
            }
    return registry


def load_source(path: Path, kb_dir: Path, meta: dict[str, str], restorer: AccentRestorer) -> list[Chunk]:
    rel = str(path.relative_to(kb_dir))
    paragraphs = plaintext.repair(path.read_text(encoding="utf-8", errors="replace"), restorer)
    number = _number_from_name(path.stem) or plaintext.document_number(paragraphs)
    date = meta.get("date") or plaintext.document_date(paragraphs)
    issuer = meta.get("issuer", "")
    title = " ".join(
        p for p in ("Kế hoạch", f"số {number}" if number else "", f"của {issuer}" if issuer else "", f"({date})" if date else "") if p
    )
    chunks = []
    for n, section in enumerate(plaintext.sections(paragraphs)):
        chunks.append(
            Chunk(
                id=f"source:{path.stem}-{n}",
                kind="source",
                topic="kehoach",
                title=section.path or title,
                text=section.text,
                source=Provenance(
                    file=rel, section=section.path, title=title, issuer=issuer, doc_number=number, date=date
                ),
                updated=date,
            )
        )
    return chunks


def _number_from_name(stem: str) -> str:
    m = re.search(r"-(\d{2,5})-(KH-UBND|QĐ-TTg|NQ-CP)", stem, re.I)
    return f"{m.group(1)}/{m.group(2).upper()}" if m else ""


def load_quiz(path: Path) -> list[QuizQuestion]:
    out = []
    for entry in _yaml_list(path):
        where = f"{path.name}: quiz {entry.get('id', '?')}"
        _require(entry, ("id", "topic", "difficulty", "question", "options", "explanation", "source", "updated"), where)
        options = entry["options"]
        if not isinstance(options, list) or len(options) != 4:
            raise KnowledgeError(f"{where}: needs exactly 4 options")
        answer = entry.get("answer")
        if not isinstance(answer, int) or not 0 <= answer < 4:
            raise KnowledgeError(f"{where}: 'answer' must be the index 0..3 of the correct option")
        if entry["difficulty"] not in ("easy", "medium", "hard"):
            raise KnowledgeError(f"{where}: difficulty must be easy, medium or hard")
        explanation = clean(str(entry["explanation"]))
        if len(explanation) > 200:
            raise KnowledgeError(f"{where}: explanation is {len(explanation)} characters (max 200)")
        out.append(
            QuizQuestion(
                id=str(entry["id"]),
                topic=str(entry["topic"]),
                difficulty=str(entry["difficulty"]),
                question=clean(str(entry["question"])),
                options=tuple(clean(str(o)) for o in options),
                answer=answer,
                explanation=explanation,
                source=_source_title(entry["source"], where)[0],
                updated=_date(entry["updated"], where),
            )
        )
    return out


def load_campaigns(path: Path) -> list[Campaign]:
    out = []
    for entry in _yaml_list(path):
        where = f"{path.name}: campaign {entry.get('id', '?')}"
        _require(entry, ("id", "title", "schedule", "audience", "text", "source", "updated"), where)
        if len(str(entry["schedule"]).split()) != 5:
            raise KnowledgeError(f"{where}: schedule must be a 5-field cron expression")
        out.append(
            Campaign(
                id=str(entry["id"]),
                title=clean(str(entry["title"])),
                schedule=str(entry["schedule"]),
                audience=str(entry["audience"]),
                text=nfc(str(entry["text"])).strip(),
                source=_source_title(entry["source"], where)[0],
                updated=_date(entry["updated"], where),
            )
        )
    return out


def load_allowlist(path: Path) -> list[AllowItem]:
    out = []
    for entry in _yaml_list(path):
        where = f"{path.name}: {entry.get('value', '?')}"
        _require(entry, ("value", "kind", "what", "source"), where)
        if entry["kind"] not in ("url", "phone"):
            raise KnowledgeError(f"{where}: kind must be url or phone")
        out.append(AllowItem(str(entry["value"]), str(entry["kind"]), str(entry["what"]), str(entry["source"])))
    return out
