"""Placing panels on Grafana's 24-column grid, one titled row after another."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import attr
from grafanalib import core as G

GRID_WIDTH = 24
PANELS_PER_LINE = 4
PANEL_HEIGHT = 8


@dataclass(frozen=True)
class Row:
    title: str
    panels: Sequence[G.Panel]


def lay_out(rows: Sequence[Row]) -> list[G.Panel]:
    """Rows stay expanded, so their panels follow them at the top level, as Grafana stores it."""
    placed: list[G.Panel] = []
    y = 0
    for row in rows:
        placed.append(G.RowPanel(title=row.title, gridPos=G.GridPos(h=1, w=GRID_WIDTH, x=0, y=y)))
        y += 1
        width = GRID_WIDTH // min(len(row.panels), PANELS_PER_LINE)
        for i, panel in enumerate(row.panels):
            line, column = divmod(i, PANELS_PER_LINE)
            position = G.GridPos(h=PANEL_HEIGHT, w=width, x=column * width, y=y + line * PANEL_HEIGHT)
            placed.append(attr.evolve(panel, gridPos=position))
        y += PANEL_HEIGHT * math.ceil(len(row.panels) / PANELS_PER_LINE)
    return placed
