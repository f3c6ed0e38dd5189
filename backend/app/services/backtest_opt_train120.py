"""The seed plan's parameter generator for the Project 18 / train job 120 sweep.

Kept importable with the seed's names and meaning (DESIGN §4.2): ``build_grid()`` gives the
18-point grid and ``build_perturbations(base)`` the 12 local perturbations around ``base``.
Unlike the seed's version it computes on the exact decimal lattice (see
``app.services.search_space``), so it returns 12 points, none of them a grid point in
disguise. Values are returned as floats, as the seed's callers expect.
"""

from __future__ import annotations

from decimal import Decimal

from app.services.search_space import PerturbationSpec, to_decimal
from app.services.search_space import build_grid as build_lattice_grid
from app.services.search_space import build_perturbations as build_lattice_perturbations

MAX_EXPOSURE_VALS = (Decimal("0.60"), Decimal("0.70"), Decimal("0.80"))
VOL_TARGET_VALS = (Decimal("0.045"), Decimal("0.050"), Decimal("0.055"))
MAX_WEIGHT_VALS = (Decimal("0.030"), Decimal("0.040"))

GRID_AXES = {
    "max_exposure": MAX_EXPOSURE_VALS,
    "vol_target": VOL_TARGET_VALS,
    "max_weight": MAX_WEIGHT_VALS,
}
PERTURBATION_STEPS = {
    "max_exposure": Decimal("0.05"),
    "vol_target": Decimal("0.005"),
    "max_weight": Decimal("0.005"),
}
PERTURBATION_COUNT = 12
DEFAULT_BASE = {
    "max_exposure": Decimal("0.70"),
    "vol_target": Decimal("0.050"),
    "max_weight": Decimal("0.035"),
}


def build_grid() -> list[dict[str, float]]:
    return [_as_floats(point) for point in build_lattice_grid(GRID_AXES)]


def build_perturbations(base: dict[str, float]) -> list[dict[str, float]]:
    spec = PerturbationSpec(
        base={name: to_decimal(base[name]) for name in PERTURBATION_STEPS},
        steps=PERTURBATION_STEPS,
        count=PERTURBATION_COUNT,
    )
    grid = build_lattice_grid(GRID_AXES)
    return [_as_floats(point) for point in build_lattice_perturbations(spec, exclude=grid)]


def _as_floats(point: dict[str, Decimal]) -> dict[str, float]:
    return {name: float(value) for name, value in point.items()}


__all__ = [
    "DEFAULT_BASE",
    "GRID_AXES",
    "MAX_EXPOSURE_VALS",
    "MAX_WEIGHT_VALS",
    "PERTURBATION_COUNT",
    "PERTURBATION_STEPS",
    "VOL_TARGET_VALS",
    "build_grid",
    "build_perturbations",
    "to_decimal",
]
