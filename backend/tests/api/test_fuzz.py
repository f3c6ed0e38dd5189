"""Arbitrary JSON bodies against every mutating endpoint: never a 500, never a traceback."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
# Bodies shaped like the real ones, with wrong values in the right places.
near_optimization = st.fixed_dictionaries(
    {"baseline_run_id": json_values | st.integers(-5, 700), "train_job_id": json_values},
    optional={
        "search": json_values,
        "overrides": json_values,
        "objective": json_values,
        "constraints": json_values,
        "max_inflight": json_values,
        "backtest_start": json_values | st.dates().map(str),
    },
)
near_backtest = st.fixed_dictionaries(
    {"project_id": json_values | st.integers(-5, 50)},
    optional={"params": json_values | st.fixed_dictionaries({"algorithm_parameters": json_values})},
)
ENDPOINTS = (
    "/api/backtests",
    "/api/optimizations",
    "/api/optimizations/preview",
    "/api/projects",
    "/api/ml/train-jobs",
)
ALLOWED = {200, 201, 404, 409, 413, 422}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=json_values | near_optimization | near_backtest, endpoint=st.sampled_from(ENDPOINTS))
def test_no_body_gives_a_500(market_client, seeded, body, endpoint):
    response = market_client.post(endpoint, json=body)
    assert response.status_code in ALLOWED, (endpoint, body, response.text)
    assert "detail" in response.json() or response.status_code in {200, 201}
