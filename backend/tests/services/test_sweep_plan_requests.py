"""No plan runs the same backtest twice, whatever axes the grid and the perturbation take."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import InvalidRequest
from app.schemas.optimizations import PerturbationIn, SearchIn
from app.services.sweep_plan import TrialBuilder, build_search_points

BASELINE = {"strategy": "ml_score_vol_target", "max_exposure": 0.7, "vol_target": 0.05, "top_n": 10}
LATTICE = {
    "max_exposure": [Decimal("0.6"), Decimal("0.65"), Decimal("0.7"), Decimal("0.75")],
    "vol_target": [Decimal("0.04"), Decimal("0.045"), Decimal("0.05"), Decimal("0.055")],
    "top_n": [Decimal("8"), Decimal("10"), Decimal("12")],
}
STEPS = {"max_exposure": Decimal("0.05"), "vol_target": Decimal("0.005"), "top_n": Decimal("2")}

axes = st.sets(st.sampled_from(sorted(LATTICE)), min_size=1, max_size=3)


@st.composite
def searches(draw) -> SearchIn:
    grid_axes = draw(st.sets(st.sampled_from(sorted(LATTICE)), max_size=3))
    grid = {
        name: draw(st.lists(st.sampled_from(LATTICE[name]), min_size=1, max_size=3))
        for name in sorted(grid_axes)
    }
    perturbed = sorted(draw(axes))
    perturbation = PerturbationIn(
        base={name: draw(st.sampled_from(LATTICE[name])) for name in perturbed},
        steps={name: STEPS[name] for name in perturbed},
        count=draw(st.integers(min_value=1, max_value=6)),
        radius=draw(st.integers(min_value=1, max_value=2)),
        exclude_base=draw(st.booleans()),
    )
    return SearchIn(grid=grid, perturbation=perturbation)


@settings(max_examples=150, deadline=None)
@given(searches())
def test_no_two_points_give_the_same_backtest(search):
    builder = TrialBuilder(BASELINE, {}, {"backtest_start": "2020-01-02"}, 18, 120)
    try:
        points = build_search_points(search, BASELINE, builder.request_key)
    except InvalidRequest:
        return  # too few distinct points for the count: refused, nothing to run
    # The backtest each point runs, compared as plain numbers (independent of request_key).
    ran = [
        tuple(
            sorted(
                (k, v if isinstance(v, str) else float(v))
                for k, v in builder.algorithm(point).items()
            )
        )
        for _, point in points
    ]
    assert len(set(ran)) == len(ran)
    assert sum(source == "perturbation" for source, _ in points) == search.perturbation.count
