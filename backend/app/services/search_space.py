"""The search space of an optimization, computed exactly.

Parameter values are ``Decimal`` lattice points: ``0.70 - 0.05`` is ``0.65``, never
``0.6499999999999999``, so bounds checks and de-duplication against the grid are exact.
Values leave the system as floats only when a backtest request is built.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

ParamPoint = dict[str, Decimal]


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """The decimal a person meant: ``0.7`` -> ``Decimal("0.7")`` (via its shortest repr)."""
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


class SearchSpaceError(ValueError):
    """The requested space cannot be built; ``field`` names the offending request field."""

    def __init__(self, message: str, field: tuple[str, ...]) -> None:
        super().__init__(message)
        self.field = field


def point_key(point: Mapping[str, Decimal]) -> tuple[tuple[str, Decimal], ...]:
    """A hashable identity for a point. Decimal equality is numeric (0.70 == 0.7), so
    differently written equal values collide as they should."""
    return tuple(sorted((name, value.normalize()) for name, value in point.items()))


def build_grid(axes: Mapping[str, Sequence[Decimal]]) -> list[ParamPoint]:
    """The cartesian product of the axes, first axis slowest, values in the given order;
    repeated values within an axis are kept once."""
    names = list(axes)
    values = [_unique(axes[name]) for name in names]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


@dataclass(frozen=True)
class PerturbationSpec:
    """Lattice points ``base + k * step`` per axis with ``|k| <= radius`` (the seed's bounds
    are ``radius = 1``: base plus or minus one step on every axis)."""

    base: Mapping[str, Decimal]
    steps: Mapping[str, Decimal]
    count: int
    radius: int = 1
    exclude_base: bool = True


def build_perturbations(
    spec: PerturbationSpec,
    exclude: Sequence[Mapping[str, Decimal]] = (),
    accept: Callable[[ParamPoint], bool] | None = None,
) -> list[ParamPoint]:
    """Exactly ``spec.count`` distinct lattice points around the base.

    Candidates are all offset vectors ``k`` in ``[-radius, radius]^d``; a candidate is
    dropped if it equals a point of ``exclude`` (the grid), is the base (when
    ``exclude_base``), has a non-positive value, or is refused by ``accept`` (e.g. a
    parameter's own bounds). The rest are ordered by squared distance
    from the base in step units, ``sum(k_i^2)``, then by the offset vector itself
    (lexicographic, axis order as given), which makes the choice deterministic. Raises
    :class:`SearchSpaceError` if fewer than ``count`` exist.
    """
    names = list(spec.steps)
    if set(spec.base) != set(names):
        missing = sorted(set(names) - set(spec.base))
        extra = sorted(set(spec.base) - set(names))
        problem = f"missing {missing}" if missing else f"no step for {extra}"
        raise SearchSpaceError(
            f"perturbation base and steps must name the same parameters ({problem})",
            ("search", "perturbation", "base"),
        )
    for name in names:
        if spec.steps[name] <= 0:
            raise SearchSpaceError(
                f"step for {name} must be positive, got {spec.steps[name]}",
                ("search", "perturbation", "steps", name),
            )
    if spec.count == 0:
        return []
    excluded = {point_key(point) for point in exclude}
    offsets = itertools.product(range(-spec.radius, spec.radius + 1), repeat=len(names))
    ranked = sorted(offsets, key=lambda k: (sum(step * step for step in k), k))
    points: list[ParamPoint] = []
    seen: set[tuple] = set()
    for offset in ranked:
        if spec.exclude_base and not any(offset):
            continue
        point = {
            name: spec.base[name] + k * spec.steps[name]
            for name, k in zip(names, offset, strict=True)
        }
        if any(value <= 0 for value in point.values()) or (accept and not accept(point)):
            continue
        key = point_key(point)
        if key in excluded or key in seen:
            continue
        seen.add(key)
        points.append(point)
        if len(points) == spec.count:
            return points
    if len(points) < spec.count:
        raise SearchSpaceError(
            f"only {len(points)} perturbation points exist within {spec.radius} step(s) of the "
            f"base outside the grid; asked for {spec.count}",
            ("search", "perturbation", "count"),
        )
    return points


def _unique(values: Sequence[Decimal]) -> list[Decimal]:
    seen: set[Decimal] = set()
    kept = []
    for value in values:
        normalized = value.normalize()
        if normalized not in seen:
            seen.add(normalized)
            kept.append(value)
    return kept
