"""Areas (province, commune/ward) people subscribe to, read from knowledge/areas.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.knowledge.models import KnowledgeError
from bot.textnorm import fold

ALL = "all"


@dataclass(frozen=True)
class Area:
    code: str  # 'dien-bien' or 'quang-ngai/dak-bla'
    name: str  # 'Điện Biên' or 'phường Đắk Bla (Quảng Ngãi)'
    province: str  # code of the province

    def covers(self, other: str) -> bool:
        """Whether a subscription to this area receives messages addressed to `other`."""
        return other == self.code or other.startswith(self.code + "/") or self.code.startswith(other + "/")


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")


def load_areas(path: Path) -> list[Area]:
    if not path.exists():
        return []
    try:
        rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{path}: invalid YAML: {exc}") from exc
    areas = []
    for row in rows:
        if not isinstance(row, dict) or not row.get("name"):
            raise KnowledgeError(f"{path}: every area needs a name")
        province = slug(row["name"])
        areas.append(Area(province, f"{row.get('kind', 'tỉnh')} {row['name']}", province))
        for commune in row.get("communes") or []:
            areas.append(
                Area(f"{province}/{slug(commune['name'])}", f"{commune.get('kind', 'xã')} {commune['name']} ({row['name']})", province)
            )
    return areas


def find_area(areas: list[Area], query: str) -> Area | None:
    """The area a person means: by code, or by name typed with or without accents and prefix."""
    wanted = slug(re.sub(r"^(tinh|xa|phuong|thi tran|tp|thanh pho)\s+", "", fold(query.strip())))
    if not wanted:
        return None
    for area in areas:
        if wanted == area.code or wanted == area.code.split("/")[-1]:
            return area
    return None


def mentioned_area(areas: list[Area], text: str) -> Area | None:
    """The most specific area whose name a message mentions, with or without accents ("… ở phường Đắk Bla"),
    as whole words; None when it names none."""
    words = f" {slug(text).replace('-', ' ')} "
    for area in sorted(areas, key=lambda a: -a.code.count("/")):  # a commune before its province
        name = area.code.split("/")[-1].replace("-", " ")
        if name and f" {name} " in words:
            return area
    return None


def area_code(areas: list[Area], query: str) -> str | None:
    """'all', or the code of a known area (given by code or name); None when unknown."""
    if query.strip().lower() in ("", ALL, "tat-ca", "toan-quoc"):
        return ALL
    exact = next((a.code for a in areas if a.code == query.strip().lower()), None)  # 'quang-ngai/dak-bla'
    area = find_area(areas, query)
    return exact or (area.code if area else None)
