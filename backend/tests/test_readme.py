"""The README's maps must match the territory: its settings table names every setting, and its
layout names every service module (a new module or setting forgotten in the README fails)."""

from __future__ import annotations

import re
from pathlib import Path

from app.config import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_the_settings_table_names_every_setting_and_nothing_else():
    table = [line for line in _section("Settings").splitlines() if line.startswith("| `")]
    documented = {
        name for line in table for name in re.findall(r"`([A-Z][A-Z_]+)`", line.split("|")[1])
    }
    assert documented == {name.upper() for name in Settings.model_fields}


def test_the_layout_names_every_service_module():
    layout = _section("Layout")
    services = ROOT / "backend" / "app" / "services"
    modules = {p.name for p in services.glob("*.py") if p.name != "__init__.py"}
    missing = sorted(name for name in modules if not re.search(rf"\b{re.escape(name)}\b", layout))
    assert missing == []
