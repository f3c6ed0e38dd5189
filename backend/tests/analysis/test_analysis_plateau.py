"""Plateaus on a small lattice whose answer can be read off the picture in the docstring."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from app.analysis.metrics import Objective
from app.analysis.plateau import lattice_axes, plateau


def lattice():
    """CAGR (%) on exposure (rows) x vol_target (columns); * = breaks the drawdown limit.

                 0.04   0.05   0.06
        0.6        5      6      7
        0.7        6      9     12*
        0.8        7     10      8

    The peak 12 is infeasible, so it and its four neighbours (0.6,0.06), (0.7,0.05),
    (0.8,0.06) are not stable. The stable ones, with the worst CAGR over self + neighbours:
    (0.8,0.05) 7; (0.8,0.04) 6; (0.6,0.04), (0.6,0.05), (0.7,0.04) 5. The best stable trial
    (0.8,0.05) sits on the top edge of the exposure axis."""
    values = {
        ("0.6", "0.04"): 5, ("0.6", "0.05"): 6, ("0.6", "0.06"): 7,
        ("0.7", "0.04"): 6, ("0.7", "0.05"): 9, ("0.7", "0.06"): 12,
        ("0.8", "0.04"): 7, ("0.8", "0.05"): 10, ("0.8", "0.06"): 8,
    }  # fmt: skip
    params = [{"max_exposure": Decimal(e), "vol_target": Decimal(v)} for e, v in values]
    cagr = np.array(list(values.values()), dtype=float) / 100
    violations = np.array([0.05 if key == ("0.7", "0.06") else 0.0 for key in values])
    return params, cagr, violations


def test_neighbours_scores_and_stability():
    params, cagr, violations = lattice()
    result = plateau(params, cagr, violations, Objective("cagr", "max"))
    index = {(str(p["max_exposure"]), str(p["vol_target"])): i for i, p in enumerate(params)}
    centre = index[("0.7", "0.05")]
    assert sorted(result.neighbours[centre]) == sorted(
        index[k] for k in [("0.6", "0.05"), ("0.8", "0.05"), ("0.7", "0.04"), ("0.7", "0.06")]
    )
    assert len(result.neighbours[index[("0.6", "0.04")]]) == 2  # a corner
    best_feasible = index[("0.8", "0.05")]
    # neighbours 9, 7, 8 and itself 10: worst 7; (0.7, 0.05) is feasible, so stable.
    assert result.scores[best_feasible] == 0.07
    assert result.stable[best_feasible]
    assert not result.stable[centre]  # touches the infeasible 12
    assert not result.stable[index[("0.8", "0.06")]]
    assert not result.stable[index[("0.6", "0.06")]]
    # Stable trials by plateau score: (0.8,0.05) 7, (0.8,0.04) 6, then the 5s in trial order.
    stable_order = [r for r in result.ranking if result.stable[r]]
    assert stable_order[:2] == [best_feasible, index[("0.8", "0.04")]]
    assert stable_order[2:] == [index[("0.6", "0.04")], index[("0.6", "0.05")],
                                index[("0.7", "0.04")]]  # fmt: skip
    assert result.edges(best_feasible) == [("max_exposure", "max")]
    assert result.edges(centre) == []


def test_axes_come_from_decimal_values_with_perturbations_between_grid_points():
    params = [
        {"max_exposure": Decimal("0.60"), "max_weight": Decimal("0.035")},
        {"max_exposure": Decimal("0.70"), "max_weight": Decimal("0.035")},
        {"max_exposure": Decimal("0.65"), "max_weight": Decimal("0.035")},
    ]
    axes = lattice_axes(params)
    assert [a.name for a in axes] == ["max_exposure"]  # max_weight was not searched
    assert axes[0].values == (Decimal("0.60"), Decimal("0.65"), Decimal("0.70"))
    result = plateau(params, np.array([0.1, 0.2, 0.15]), np.zeros(3), Objective())
    assert result.neighbours == ((2,), (2,), (0, 1))


def test_minimised_objective_takes_the_largest_value_as_worst():
    params = [{"x": Decimal(v)} for v in ("1", "2", "3")]
    result = plateau(
        params, np.array([0.3, 0.1, 0.2]), np.zeros(3), Objective("max_drawdown", "min")
    )
    assert result.scores.tolist() == [0.3, 0.3, 0.2]
    assert result.ranking == (2, 0, 1)
