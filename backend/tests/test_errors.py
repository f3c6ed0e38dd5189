"""One wording for validation errors, whoever raised them."""

from __future__ import annotations

from app.errors import InvalidRequest, detail_text, validation_text


def test_pydantic_errors_read_as_field_and_problem():
    errors = [
        {"loc": ("max_inflight",), "msg": "Input should be greater than or equal to 1"},
        {"loc": ("search", "grid"), "msg": "Value error, grid: cannot sweep foo"},
        {"loc": (), "msg": "Value error, search needs a grid"},
    ]
    assert validation_text(errors) == (
        "max_inflight: Input should be greater than or equal to 1; "
        "search.grid: grid: cannot sweep foo; body: search needs a grid"
    )
    assert validation_text([{"loc": (), "msg": "x"}], whole="params") == "params: x"


def test_a_domain_errors_detail_reads_the_same_way():
    error = InvalidRequest("window lies outside the data", ("backtest_end",))
    assert detail_text(error.detail) == "backtest_end: window lies outside the data"
    assert detail_text("backtest run 999 not found") == "backtest run 999 not found"
