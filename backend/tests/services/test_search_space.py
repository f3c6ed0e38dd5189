"""The lattice: exact values, the seed's 18 + 12, and properties over arbitrary spaces."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.backtest_opt_train120 import DEFAULT_BASE, GRID_AXES, PERTURBATION_STEPS
from app.services.search_space import (
    PerturbationSpec,
    SearchSpaceError,
    build_grid,
    build_perturbations,
    point_key,
)

D = Decimal


def test_seed_space_is_18_plus_12_distinct_points():
    grid = build_grid(GRID_AXES)
    perturbations = build_perturbations(
        PerturbationSpec(base=DEFAULT_BASE, steps=PERTURBATION_STEPS, count=12), exclude=grid
    )
    keys = {point_key(p) for p in grid + perturbations}
    assert len(grid) == 18 and len(perturbations) == 12 and len(keys) == 30
    # The first four are the single-axis neighbours that are not grid points (max_weight
    # neighbours 0.030/0.040 at max_exposure 0.70 are grid points), ordered by offset.
    assert perturbations[:4] == [
        {"max_exposure": D("0.65"), "vol_target": D("0.050"), "max_weight": D("0.035")},
        {"max_exposure": D("0.70"), "vol_target": D("0.045"), "max_weight": D("0.035")},
        {"max_exposure": D("0.70"), "vol_target": D("0.055"), "max_weight": D("0.035")},
        {"max_exposure": D("0.75"), "vol_target": D("0.050"), "max_weight": D("0.035")},
    ]
    # The seed's float bug: 0.70 - 0.05 is exactly 0.65 here.
    assert {str(p["max_exposure"]) for p in perturbations} <= {"0.65", "0.70", "0.75"}


def test_asking_for_more_than_exist_names_how_many():
    grid = build_grid(GRID_AXES)
    with pytest.raises(SearchSpaceError, match="only 20 perturbation points exist") as info:
        build_perturbations(
            PerturbationSpec(base=DEFAULT_BASE, steps=PERTURBATION_STEPS, count=21), exclude=grid
        )
    assert info.value.field == ("search", "perturbation", "count")


def test_base_can_be_included():
    points = build_perturbations(
        PerturbationSpec(base={"a": D("1")}, steps={"a": D("0.5")}, count=3, exclude_base=False)
    )
    assert points == [{"a": D("1")}, {"a": D("0.5")}, {"a": D("1.5")}]


def test_non_positive_values_are_skipped_and_steps_must_be_positive():
    points = build_perturbations(
        PerturbationSpec(base={"a": D("0.1")}, steps={"a": D("0.1")}, count=1)
    )
    assert points == [{"a": D("0.2")}]
    with pytest.raises(SearchSpaceError, match="must be positive"):
        build_perturbations(PerturbationSpec(base={"a": D("1")}, steps={"a": D("0")}, count=1))
    with pytest.raises(SearchSpaceError, match="same parameters"):
        build_perturbations(PerturbationSpec(base={"a": D("1")}, steps={"b": D("1")}, count=1))


decimals = st.decimals(min_value=D("0.001"), max_value=D("5"), places=3)
axis_names = st.sampled_from(["max_exposure", "vol_target", "max_weight", "top_n"])


@settings(max_examples=150, deadline=None)
@given(
    axes=st.dictionaries(axis_names, st.lists(decimals, min_size=1, max_size=4), min_size=1),
    steps=st.lists(
        st.decimals(min_value=D("0.001"), max_value=D("1"), places=3), min_size=4, max_size=4
    ),
    radius=st.integers(min_value=1, max_value=2),
    count=st.integers(min_value=0, max_value=30),
    data=st.data(),
)
def test_perturbation_properties(axes, steps, radius, count, data):
    names = list(axes)
    base = {name: data.draw(decimals, label=f"base[{name}]") for name in names}
    step_of = dict(zip(names, steps, strict=False))
    grid = build_grid(axes)
    spec = PerturbationSpec(base=base, steps=step_of, count=count, radius=radius)
    try:
        points = build_perturbations(spec, exclude=grid)
    except SearchSpaceError as error:
        assert "only" in str(error)
        return
    assert len(points) == count
    keys = [point_key(p) for p in points]
    assert len(set(keys)) == count
    assert not set(keys) & {point_key(g) for g in grid}
    for point in points:
        assert point_key(point) != point_key(base)
        for name, value in point.items():
            offset = (value - base[name]) / step_of[name]
            assert offset == offset.to_integral_value()  # exactly on the lattice
            assert abs(offset) <= radius
            assert value > 0
    distances = [sum(((p[n] - base[n]) / step_of[n]) ** 2 for n in names) for p in points]
    assert distances == sorted(distances)


@settings(max_examples=100, deadline=None)
@given(axes=st.dictionaries(axis_names, st.lists(decimals, min_size=1, max_size=4), min_size=1))
def test_grid_is_the_cartesian_product(axes):
    grid = build_grid(axes)
    expected = 1
    for values in axes.values():
        expected *= len({v.normalize() for v in values})
    assert len(grid) == expected == len({point_key(p) for p in grid})
