"""The seed plan's own Task 1 and Task 2 tests, as written in
shared/seeds/000_6db86092ea15cb65.txt."""

from app.services.backtest_opt_train120 import build_grid, build_perturbations


def test_grid_has_expected_size_and_values():
    grid = build_grid()
    assert len(grid) == 18
    assert {item["max_exposure"] for item in grid} == {0.60, 0.70, 0.80}
    assert {item["vol_target"] for item in grid} == {0.045, 0.050, 0.055}
    assert {item["max_weight"] for item in grid} == {0.030, 0.040}


def test_perturbations_are_unique_and_within_bounds():
    grid = build_grid()
    perturb = build_perturbations(
        base={"max_exposure": 0.70, "vol_target": 0.050, "max_weight": 0.035}
    )
    assert len(perturb) == 12
    assert len({tuple(sorted(p.items())) for p in perturb}) == 12
    assert not set(tuple(sorted(p.items())) for p in perturb).intersection(
        set(tuple(sorted(g.items())) for g in grid)
    )
    for p in perturb:
        assert 0.65 <= p["max_exposure"] <= 0.75
        assert 0.045 <= p["vol_target"] <= 0.055
        assert 0.030 <= p["max_weight"] <= 0.040


def test_grid_first_item_matches_expected():
    grid = build_grid()
    assert grid[0] == {"max_exposure": 0.60, "vol_target": 0.045, "max_weight": 0.030}
