"""Validating and importing scores files produced elsewhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.engine.market import MarketData
from app.ml.scores_import import (
    MAX_REPORTED_ERRORS,
    ScoresValidationError,
    import_scores_file,
    validate_scores_file,
)

# 2020-01-02 (Thu), 2020-01-03 (Fri), 2020-01-06 (Mon), 2020-01-07 (Tue)
SESSIONS = pd.DatetimeIndex(["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07"])


@pytest.fixture
def market() -> MarketData:
    shape = (len(SESSIONS), 3)
    prices = np.full(shape, 10.0)
    return MarketData(
        sessions=SESSIONS,
        symbols=("AAA", "BBB", "CCC"),
        open=prices,
        high=prices,
        low=prices,
        close=prices,
        volume=np.ones(shape),
        provenance={"source": "test", "synthetic": True},
    )


def write(tmp_path: Path, text: str, name: str = "scores.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path, data: MarketData | None) -> list[str]:
    with pytest.raises(ScoresValidationError) as caught:
        validate_scores_file(path, data)
    assert str(caught.value).startswith("invalid scores file: ")
    return caught.value.errors


GOOD = "date,symbol,score\n2020-01-03,BBB,0.5\n2020-01-02,AAA,-1.25\n2020-01-02,BBB,3e-2\n"


def test_valid_file_is_parsed_and_sorted(tmp_path, market):
    frame = validate_scores_file(write(tmp_path, GOOD), market)
    assert list(frame.columns) == ["date", "symbol", "score"]
    assert frame["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2020-01-02",
        "2020-01-02",
        "2020-01-03",
    ]
    assert frame["symbol"].tolist() == ["AAA", "BBB", "BBB"]
    assert frame["score"].tolist() == [-1.25, 0.03, 0.5]


def test_extra_columns_blank_lines_and_spaces_are_tolerated(tmp_path, market):
    text = "date, symbol ,score,model\n2020-01-02, AAA ,1,x\n\n2020-01-03,AAA,2,y\n\n"
    frame = validate_scores_file(write(tmp_path, text), market)
    assert frame["symbol"].tolist() == ["AAA", "AAA"]
    assert frame["score"].tolist() == [1.0, 2.0]


def test_missing_columns_are_named(tmp_path, market):
    errors = errors_of(write(tmp_path, "day,symbol,value\n2020-01-02,AAA,1\n"), market)
    assert errors == [
        "missing column(s) date, score: the header must name date,symbol,score "
        "(found day, symbol, value)"
    ]


def test_bad_date_names_the_line(tmp_path, market):
    text = "date,symbol,score\n2020-01-02,AAA,1\n01/03/2020,AAA,2\n2020-13-01,BBB,1\n"
    assert errors_of(write(tmp_path, text), market) == [
        "line 3: date '01/03/2020' is not a yyyy-mm-dd date",
        "line 4: date '2020-13-01' is not a yyyy-mm-dd date",
    ]


@pytest.mark.parametrize("bad", ["abc", "nan", "inf", "-inf", ""])
def test_non_numeric_or_non_finite_score(tmp_path, market, bad):
    text = f"date,symbol,score\n2020-01-02,AAA,1\n2020-01-02,BBB,{bad}\n"
    assert errors_of(write(tmp_path, text), market) == [
        f"line 3: score {bad!r} is not a finite number"
    ]


def test_empty_symbol(tmp_path):
    text = "date,symbol,score\n2020-01-02,,1\n"
    assert errors_of(write(tmp_path, text), None) == ["line 2: symbol is empty"]


def test_duplicate_pairs_point_to_the_first_occurrence(tmp_path, market):
    text = "date,symbol,score\n2020-01-02,AAA,1\n2020-01-02,BBB,1\n2020-01-02,AAA,2\n"
    assert errors_of(write(tmp_path, text), market) == [
        "line 4: duplicate (2020-01-02, AAA) already on line 2"
    ]


def test_unknown_symbols_are_named_once_each(tmp_path, market):
    text = (
        "date,symbol,score\n2020-01-02,ZZZ,1\n2020-01-03,ZZZ,1\n2020-01-06,ZZZ,1\n"
        "2020-01-06,QQQ,1\n"
    )
    assert errors_of(write(tmp_path, text), market) == [
        "line 2: symbol 'ZZZ' is not in the market data (3 rows, first on this line)",
        "line 5: symbol 'QQQ' is not in the market data",
    ]


def test_dates_outside_the_sessions(tmp_path, market):
    text = (
        "date,symbol,score\n2020-01-04,AAA,1\n2019-12-31,AAA,1\n2020-02-03,AAA,1\n"
        "2020-01-02,AAA,1\n"
    )
    assert errors_of(write(tmp_path, text), market) == [
        "line 2: date 2020-01-04 is not a trading session",
        "line 3: date 2019-12-31 is outside the market data (2020-01-02 .. 2020-01-07)",
        "line 4: date 2020-02-03 is outside the market data (2020-01-02 .. 2020-01-07)",
    ]


def test_without_market_data_symbols_and_dates_are_not_checked(tmp_path):
    text = "date,symbol,score\n2031-01-04,ANY,1\n"
    assert len(validate_scores_file(write(tmp_path, text), None)) == 1


def test_errors_stop_after_the_limit(tmp_path, market):
    rows = "".join(f"2020-01-02,AAA,bad{i}\n" for i in range(50))
    errors = errors_of(write(tmp_path, "date,symbol,score\n" + rows), market)
    assert len(errors) == MAX_REPORTED_ERRORS + 1
    assert errors[0] == "line 2: score 'bad0' is not a finite number"
    # Rows 2..50 also repeat (2020-01-02, AAA): 49 duplicates on top of 50 bad scores.
    assert errors[-1] == f"... and {50 + 49 - MAX_REPORTED_ERRORS} more problems"


def test_errors_are_reported_in_line_order_across_kinds(tmp_path, market):
    text = "date,symbol,score\n2020-01-02,AAA,x\nbad,AAA,1\n2020-01-02,NOPE,1\n"
    assert errors_of(write(tmp_path, text), market) == [
        "line 2: score 'x' is not a finite number",
        "line 3: date 'bad' is not a yyyy-mm-dd date",
        "line 4: symbol 'NOPE' is not in the market data",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty: expected the header line date,symbol,score"),
        ("date,symbol,score\n", "the file has a header but no data rows"),
        ("date,symbol,score\n\n\n", "the file has a header but no data rows"),
        (
            "date,symbol,score\n2020-01-02,AAA,1,9\n",
            "malformed CSV: line 2 has 4 fields, the header 3",
        ),
        ("date,symbol,score\n2020-01-02,AAA,1\n2020-01-03,AAA,1,9\n", "malformed CSV"),
    ],
)
def test_empty_or_malformed_files(tmp_path, market, text, expected):
    errors = errors_of(write(tmp_path, text), market)
    assert len(errors) == 1 and errors[0].startswith(expected)


def test_missing_and_non_utf8_files(tmp_path, market):
    assert errors_of(tmp_path / "absent.csv", market) == [
        f"{tmp_path / 'absent.csv'}: no such file"
    ]
    path = tmp_path / "latin1.csv"
    path.write_bytes("date,symbol,score\n2020-01-02,\xc5AA,1\n".encode("latin-1"))
    assert errors_of(path, market)[0].startswith("not UTF-8 text")


def test_import_writes_a_normalised_copy(tmp_path, market):
    dest = import_scores_file(write(tmp_path, GOOD, "incoming.csv"), tmp_path / "job", market)
    assert dest == tmp_path / "job" / "scores.csv"
    assert dest.read_text() == (
        "date,symbol,score\n2020-01-02,AAA,-1.25\n2020-01-02,BBB,0.03\n2020-01-03,BBB,0.5\n"
    )
    assert sorted(p.name for p in dest.parent.iterdir()) == ["scores.csv"]


def test_failed_import_leaves_nothing_behind(tmp_path, market):
    dest_dir = tmp_path / "job"
    dest_dir.mkdir()
    previous = dest_dir / "scores.csv"
    previous.write_text("date,symbol,score\n2020-01-02,AAA,1\n")
    bad = write(tmp_path, "date,symbol,score\n2020-01-02,AAA,oops\n", "bad.csv")
    with pytest.raises(ScoresValidationError):
        import_scores_file(bad, dest_dir, market)
    assert sorted(p.name for p in dest_dir.iterdir()) == ["scores.csv"]
    assert previous.read_text() == "date,symbol,score\n2020-01-02,AAA,1\n"


def test_write_error_midway_leaves_no_temporary_file(tmp_path, market, monkeypatch):
    import app.ml.files as files

    def exploding_to_csv(self, handle, **kwargs):
        handle.write("date,symbol,score\n2020-01-02")
        raise OSError("disk full")

    monkeypatch.setattr(files.pd.DataFrame, "to_csv", exploding_to_csv)
    with pytest.raises(OSError, match="disk full"):
        import_scores_file(write(tmp_path, GOOD, "incoming.csv"), tmp_path / "job", market)
    assert list((tmp_path / "job").iterdir()) == []
