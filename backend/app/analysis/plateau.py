"""Plateaus on the searched parameter lattice (DESIGN §7): is the winner on a broad ridge or an
isolated peak?

Each axis' lattice is the sorted distinct values that axis takes over the sweep's trials
(parameters are exact ``Decimal`` lattice values, so no float noise splits a value in two); an
axis with one value was not searched and is ignored. A trial's neighbours are the trials one
lattice step away on exactly one axis and equal on all the others. Its plateau score is the
worst objective over itself and its neighbours (the minimum for a maximised objective); it is
*stable* when itself and all its neighbours meet the constraints. A trial is on the edge of an
axis when its value there is that axis' smallest or largest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from app.analysis.metrics import Objective


@dataclass(frozen=True)
class Axis:
    name: str
    values: tuple[Decimal, ...]


@dataclass(frozen=True)
class PlateauResult:
    axes: tuple[Axis, ...]
    coords: np.ndarray  # (trials, axes) lattice index of each trial on each axis
    neighbours: tuple[tuple[int, ...], ...]  # row indices, in trial order
    scores: np.ndarray  # plateau score per trial
    stable: np.ndarray  # bool per trial
    ranking: tuple[int, ...]  # stable trials by plateau score (best first), then the rest

    def edges(self, row: int) -> list[tuple[str, str]]:
        """(axis, "min" | "max") for each searched axis whose end ``row`` sits on."""
        found = []
        for k, axis in enumerate(self.axes):
            if self.coords[row, k] == 0:
                found.append((axis.name, "min"))
            elif self.coords[row, k] == len(axis.values) - 1:
                found.append((axis.name, "max"))
        return found


def lattice_axes(params: Sequence[Mapping[str, Decimal]]) -> tuple[Axis, ...]:
    """The searched axes: names present in every trial's parameters with at least two distinct
    values, each with its sorted distinct values, in sorted name order."""
    if not params:
        return ()
    common = set(params[0]).intersection(*params[1:])
    axes = []
    for name in sorted(common):
        values = tuple(sorted({Decimal(p[name]) for p in params}))
        if len(values) > 1:
            axes.append(Axis(name, values))
    return tuple(axes)


def lattice_neighbours(coords: np.ndarray) -> tuple[tuple[int, ...], ...]:
    """For each row of ``coords``, the rows that differ by exactly 1 on exactly one column."""
    by_point: dict[tuple[int, ...], list[int]] = {}
    for row, point in enumerate(map(tuple, coords.tolist())):
        by_point.setdefault(point, []).append(row)
    result = []
    for point in map(tuple, coords.tolist()):
        found: list[int] = []
        for axis in range(len(point)):
            for step in (-1, 1):
                moved = list(point)
                moved[axis] += step
                found.extend(by_point.get(tuple(moved), ()))
        result.append(tuple(sorted(found)))
    return tuple(result)


def plateau(
    params: Sequence[Mapping[str, Decimal]],
    objective_values: np.ndarray,
    violations: np.ndarray,
    objective: Objective,
) -> PlateauResult:
    """Plateau scores and stability of each trial (see the module docstring).
    ``objective_values`` and ``violations`` (0 = meets every constraint) are per trial, in
    the order of ``params``. Ranking: stable trials by plateau score, best first, ties in
    trial order; then the unstable ones the same way."""
    objective_values = np.asarray(objective_values, dtype=float)
    violations = np.asarray(violations, dtype=float)
    axes = lattice_axes(params)
    coords = np.array(
        [[axis.values.index(Decimal(p[axis.name])) for axis in axes] for p in params],
        dtype=np.int64,
    ).reshape(len(params), len(axes))
    neighbours = lattice_neighbours(coords)
    scores = np.empty(len(params))
    stable = np.empty(len(params), dtype=bool)
    for row, around in enumerate(neighbours):
        group = [row, *around]
        values = objective_values[group]
        scores[row] = objective.worst(values) if np.all(np.isfinite(values)) else np.nan
        stable[row] = bool(np.all(violations[group] == 0))
    signed = scores if objective.direction == "max" else -scores
    signed = np.where(np.isfinite(signed), signed, -np.inf)
    ranking = sorted(range(len(params)), key=lambda row: (not stable[row], -signed[row], row))
    return PlateauResult(axes, coords, neighbours, scores, stable, tuple(ranking))
