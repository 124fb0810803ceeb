"""The seed document's own operations files (backup and restore scripts, maintenance procedure, DR
plan), cut out of its fenced code blocks by the path each block names on its first line, so a drill
checks them as the team wrote them. Default seed: ../shared/seed beside the repository."""

from __future__ import annotations

import re
from pathlib import Path

from harness.objectives import REPO

SEED_DIR = REPO.parent / "shared" / "seed"
OPERATIONS_FILES = (
    "scripts/backup-tron-payment-db.sh",
    "scripts/restore-tron-payment-db.sh",
    "scripts/maintenance-procedures.sh",
    "disaster-recovery/dr-plan.yaml",
)
_PATH_LINE = re.compile(r"^# (?P<path>[\w.-]+/[\w./-]+)$")


def _blocks(text: str) -> dict[str, str]:
    """Fenced blocks (opening and closing fences paired in order) whose first comment names a path."""
    found: dict[str, str] = {}
    body: list[str] | None = None
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            if body is None:
                body = []
                continue
            lines = [entry for entry in body if not entry.startswith("#!")][:1]
            named = _PATH_LINE.match(lines[0].rstrip("\n")) if lines else None
            if named:
                found[named["path"]] = "".join(body)
            body = None
        elif body is not None:
            body.append(line)
    return found


class SeedError(ValueError):
    """No seed, or a seed without the files asked for; the message says which."""


def extract(seed_dir: Path, into: Path, wanted: tuple[str, ...] = OPERATIONS_FILES) -> list[Path]:
    """Write each wanted file of the seed under `into` (as the seed names it); the paths written."""
    texts = [p.read_text() for p in sorted(seed_dir.glob("*")) if p.is_file()] if seed_dir.is_dir() else []
    if not texts:
        raise SeedError(f"{seed_dir}: no seed document there")
    blocks = {path: body for text in texts for path, body in _blocks(text).items()}
    missing = [name for name in wanted if name not in blocks]
    if missing:
        raise SeedError(f"{seed_dir}: the seed has no {', '.join(missing)}")
    written = []
    for name in wanted:
        path = into / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(blocks[name])
        written.append(path)
    return written
