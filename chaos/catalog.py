"""The experiments in chaos/experiments, read as written (YAML only: `tronops chaos list` stays fast):
each one's name (its file name), what it breaks and what it expects (its description says both)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

EXPERIMENTS = Path(__file__).with_name("experiments")


@dataclass(frozen=True)
class Entry:
    name: str
    path: Path
    title: str
    breaks: str
    expects: str


def _part(description: str, label: str) -> str:
    after = description.split(f"{label}:", 1)[1] if f"{label}:" in description else ""
    return " ".join(after.split("Expects:", 1)[0].split()) if after else ""


def entries() -> list[Entry]:
    """Every experiment, in file order (the files are numbered in the order they should be run)."""
    found = []
    for path in sorted(EXPERIMENTS.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        description = str(raw.get("description", ""))
        found.append(
            Entry(path.stem, path, raw["title"], _part(description, "Breaks"), _part(description, "Expects"))
        )
    return found


def find(name: str) -> Path:
    """An experiment by name (its file's stem) or path; ValueError naming the ones there are."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml", ".json") and path.is_file():
        return path
    for entry in entries():
        if entry.name == name:
            return entry.path
    known = ", ".join(e.name for e in entries())
    raise ValueError(f"no experiment {name!r}: give a file or one of {known}")
