"""Reading date, symbol, value files (app.engine.dated_csv) and replaying them
(target_weights): the numpy reader gives what pandas gives, declines what it does not read
exactly like pandas, and the schedule equals the row-by-row construction it replaced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.engine import dated_csv
from app.engine.errors import BacktestInputError
from app.engine.strategies import target_weights_schedule
from tests.engine.engine_testkit import make_market


def rows_of(file: dated_csv.DatedPanel) -> list[tuple]:
    """The file's (date, symbol, value) rows: its table's cells that hold a value, by date
    and symbol (the values' bits, so that -0.0 and 0.0 differ)."""
    assert np.array_equal(file.has_row, ~np.isnan(file.values))  # NaN: no row
    row, column = np.nonzero(file.has_row)
    return list(
        zip(
            file.dates[row].tolist(),
            file.symbols[column].tolist(),
            file.values[row, column].view(np.int64).tolist(),
            strict=True,
        )
    )


def rows_of_lines(lines: list[str]) -> list[tuple]:
    """What rows_of gives for the rows ``date,symbol,number`` (numbers read by ``float()``)."""
    rows = []
    for line in lines:
        day, symbol, number = line.split(",")
        rows.append((pd.Timestamp(day).value, symbol.upper(), np.float64(number).view(np.int64)))
    return sorted(rows)


def read_with_pandas_only(path, value_column="weight", what="weights"):
    """read_dated_csv as it reads a file the plain reader declines."""
    original = dated_csv._read_plain
    dated_csv._read_plain = lambda *args: None
    try:
        return dated_csv.read_dated_csv(path, value_column, what)
    finally:
        dated_csv._read_plain = original


def random_weights_text(rng, n_dates=40, symbols=("A", "BB", "S0001", "ABCDEFGH", "x.y")):
    days = pd.bdate_range("2021-01-04", periods=n_dates)
    lines = []
    for day in days:
        for symbol in symbols:
            if rng.random() < 0.8:
                weight = float(rng.random() * 10.0 ** -rng.integers(0, 6))
                lines.append(f"{day.date()},{symbol},{weight!r}")
    return lines


@pytest.mark.parametrize(
    "variant",
    [
        "plain",
        "no_final_newline",
        "bom_and_header_case",
        "shuffled",
        "exponents",
        "integers",
        "crlf",
        "crlf_no_final_newline",
        "long_and_negative_numbers",
        "zeros",
    ],
)
def test_plain_reader_reads_what_pandas_reads(tmp_path, variant):
    rng = np.random.default_rng(5)
    lines = random_weights_text(rng)
    header = "date,symbol,weight"
    if variant == "shuffled":  # dates not in runs
        lines = [lines[k] for k in rng.permutation(len(lines))]
    if variant == "exponents":
        lines = [f"{line.rsplit(',', 1)[0]},{rng.random():.6e}" for line in lines]
    if variant == "integers":
        lines = [f"{line.rsplit(',', 1)[0]},{int(rng.integers(0, 3))}" for line in lines]
    if variant == "long_and_negative_numbers":  # over 19 significant digits, signs, bare dots
        texts = [
            "-0.1234567890123456789012345",
            "0.000000000000000000000012345",
            "123456789012345678901234567890",
            "-0",
            ".5",
            "5.",
            "-1.5E-7",
            "0.50000000000000016653345369377348106354475021362304687500000001",
        ]
        lines = [
            f"{line.rsplit(',', 1)[0]},{texts[k % len(texts)]}" for k, line in enumerate(lines)
        ]
    if variant == "zeros":  # leading and trailing zeros, digits up to the 8-byte words' edges
        texts = [
            "0",
            "007",
            "0.0",
            "-0.000",
            "00000000.00000000",
            "0000000000000000000000001.5",
            "0.00000001",
            "0.000000001",
            "12345678.12345678",
            "1234567812345678",
            "123456781234567812345678",
            "0.123456781234567812345678",
            "123456789",
            "1000000000000000000000000",
            "0.1000000000000000000000001",
            "9999999999999999999",
            "18446744073709551615",
            "0.00000000000000000000000000000000000000001e40",
        ]
        lines = [
            f"{line.rsplit(',', 1)[0]},{texts[k % len(texts)]}" for k, line in enumerate(lines)
        ]
    text = "\n".join([header, *lines]) + "\n"
    if variant.startswith("crlf"):
        text = text.replace("\n", "\r\n")
    if variant.endswith("no_final_newline"):
        text = text.rstrip("\r\n")
    if variant == "bom_and_header_case":
        text = "\ufeff Date , SYMBOL,Weight" + text[len(header) :]
    path = tmp_path / "w.csv"
    path.write_bytes(text.encode("utf-8"))
    assert dated_csv._read_plain(path, "weight") is not None
    fast = dated_csv.read_dated_csv(path, "weight", "weights")
    assert rows_of(fast) == rows_of(read_with_pandas_only(path))
    # Bit for bit, the numbers Python reads from the texts.
    assert rows_of(fast) == rows_of_lines(lines)
    assert fast.n_rows == len(lines)


@pytest.mark.parametrize(
    "body",
    [
        '2021-01-04,"A",0.5\n',  # quoted
        "2021-01-04,A,0.5\r2021-01-05,A,0.5\n",  # a lone \r, a line end to pandas
        "2021-01-04,A,0.5\r\n",  # "\r\n" after a "\n" header
        "2021-01-04, A,0.5\n",  # a space
        "2021-01-04,A,0.5\n\n2021-01-05,A,0.5\n",  # a blank line
        "2021-01-04,ABCDEFGHI,0.5\n",  # a symbol of 9 bytes
        "2021-01-04,NA,0.5\n",  # pandas reads NA as missing
        "2021-01-04,7,0.5\n2021-01-04,8,0.5\n",  # pandas reads numbers
        "2021-01-04,A,nan\n",
        "2021-01-04,A,\n",
        "2021-01-04,A,1e400\n",
        "2021-01-04,A,+0.5\n",
        "2021/01/04,A,0.5\n",
        "2021-1-4,A,0.5\n",
        "",
    ],
)
def test_plain_reader_leaves_other_files_to_pandas(tmp_path, body):
    path = tmp_path / "w.csv"
    path.write_text("date,symbol,weight\n" + body)
    assert dated_csv._read_plain(path, "weight") is None
    try:
        expected = rows_of(read_with_pandas_only(path))
    except BacktestInputError as error:
        with pytest.raises(BacktestInputError, match=str(error).replace("/", ".")):
            dated_csv.read_dated_csv(path, "weight", "weights")
    else:
        assert rows_of(dated_csv.read_dated_csv(path, "weight", "weights")) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("date,symbol,weight\n2021-01-04,A,0.5\n2021-01-04,A,0.5\n", "duplicate"),
        # Symbols are read upper-cased: "a" is "A".
        ("date,symbol,weight\n2021-01-04,a,0.5\n2021-01-04,A,0.5\n", "duplicate"),
        ("date,symbol,weight\n2021-02-30,A,0.5\n", "unreadable dates"),
        ("date,symbol,weight\n2021-01-04,A,lots\n", "missing or non-numeric weight"),
        ("date,symbol,weight\n", "has no rows"),
        ("date,ticker,weight\n2021-01-04,A,0.5\n", "lacks columns: symbol"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "w.csv"
    path.write_text(text)
    with pytest.raises(BacktestInputError, match=message):
        dated_csv.read_dated_csv(path, "weight", "weights")
    with pytest.raises(BacktestInputError, match="not found"):
        dated_csv.read_dated_csv(tmp_path / "missing.csv", "weight", "weights")


def schedule_row_by_row(data, first, last, path):
    """The construction target_weights_schedule replaced (pandas, row by row)."""
    frame = pd.read_csv(path)
    frame["date"] = pd.to_datetime(frame["date"]).dt.normalize()
    frame["symbol"] = frame["symbol"].str.strip().str.upper()
    symbols = sorted(frame["symbol"].unique())
    sessions = data.sessions.values
    decided = np.clip(np.searchsorted(sessions, frame["date"].to_numpy()), first, None)
    frame = frame.assign(row=decided).loc[decided <= last]
    frame = frame.loc[frame["date"] == frame.groupby("row")["date"].transform("max")]
    rows, position = np.unique(frame["row"].to_numpy(), return_inverse=True)
    weights = np.zeros((len(rows), len(symbols)))
    weights[position, np.searchsorted(symbols, frame["symbol"].to_numpy())] = frame["weight"]
    return symbols, rows, weights


def test_schedule_equals_the_row_by_row_construction(tmp_path):
    rng = np.random.default_rng(11)
    names = ["A", "B", "C", "D", "E"]
    data = make_market({name: list(10.0 + rng.random(30)) for name in names})
    lines = []
    # Dates before the window (the latest of them is decided at its first session), every
    # other session in it, some past its end; names missing on some dates.
    for day in data.sessions[[0, 1, 2, 5, 6, 9, 12, 13, 20, 25, 29]]:
        chosen = [name for name in names if rng.random() < 0.7] or ["A"]
        for name in chosen:
            lines.append(f"{day.date()},{name.lower()},{float(rng.random()) / len(names)!r}")
    path = tmp_path / "w.csv"
    path.write_text("date,symbol,weight\n" + "\n".join(lines) + "\n")
    first, last = 3, 24
    schedule = target_weights_schedule(data, first, last, {"weights_path": path})
    symbols, rows, weights = schedule_row_by_row(data, first, last, path)
    assert [data.symbols[c] for c in schedule.columns] == symbols
    np.testing.assert_array_equal(schedule.decision_rows, rows)
    np.testing.assert_array_equal(schedule.weights, weights)
    assert schedule.decision_rows[0] == first


def test_schedule_errors_name_the_first_bad_date(tmp_path):
    data = make_market({"A": [10.0] * 5, "B": [5.0] * 5})
    day = [d.date() for d in data.sessions]
    path = tmp_path / "w.csv"
    path.write_text(
        f"date,symbol,weight\n{day[0]},A,0.5\n{day[1]},A,0.6\n{day[1]},B,0.40001\n{day[2]},B,-0.1\n"
    )
    with pytest.raises(BacktestInputError, match=f"weights on {day[1]}: target weights sum"):
        target_weights_schedule(data, 0, 4, {"weights_path": path})
    # Within 1e-9 of 1 is allowed; with leverage, sums above 1 and negative weights are.
    path.write_text(f"date,symbol,weight\n{day[0]},A,0.6\n{day[0]},B,0.4000000009\n")
    target_weights_schedule(data, 0, 4, {"weights_path": path})
    path.write_text(f"date,symbol,weight\n{day[0]},A,0.5\n{day[2]},A,-0.5\n")
    with pytest.raises(BacktestInputError, match=f"weights on {day[2]}: negative weights"):
        target_weights_schedule(data, 0, 4, {"weights_path": path})
    target_weights_schedule(data, 0, 4, {"weights_path": path, "allow_leverage": True})
    path.write_text(f"date,symbol,weight\n{day[0]},A,0.5\n{day[1]},ZZ,0.5\n")
    with pytest.raises(BacktestInputError, match="symbols not in the data: ZZ"):
        target_weights_schedule(data, 0, 4, {"weights_path": path})
    saturday = pd.Timestamp(data.sessions[0]) - pd.Timedelta(days=2)
    sunday = saturday + pd.Timedelta(days=1)
    path.write_text(
        f"date,symbol,weight\n{day[0]},A,0.5\n{saturday.date()},A,0.5\n{saturday.date()},B,0.1\n"
        f"{sunday.date()},B,0.2\n"
    )
    with pytest.raises(
        BacktestInputError,
        match=rf"{saturday.date()} is not a trading session of the data \(3 row\(s\) dated off",
    ):
        target_weights_schedule(data, 0, 4, {"weights_path": path})


def test_iso_dates_are_read_as_pandas_reads_them():
    rng = np.random.default_rng(3)
    days = pd.Timestamp("1990-01-01") + pd.to_timedelta(rng.integers(0, 20000, 300), unit="D")
    texts = [day.strftime("%Y-%m-%d") for day in days]
    expected = pd.to_datetime(pd.Series(texts)).to_numpy().astype("datetime64[ns]")
    np.testing.assert_array_equal(dated_csv._iso_days(texts), expected)
    # Anything else is left to pandas.
    for odd in ("2021-02-30", "2021-13-01", "1600-01-01", "2021-1-04", "2021/01/04", "abcd-ef-gh"):
        assert dated_csv._iso_days([*texts[:3], odd]) is None


def test_date_keys_are_read_as_pandas_reads_them():
    rng = np.random.default_rng(4)
    days = pd.Timestamp("1700-01-01") + pd.to_timedelta(rng.integers(0, 200_000, 300), unit="D")
    days = days.append(pd.DatetimeIndex(["2024-02-29", "2023-12-31", "1678-01-01", "2261-12-31"]))
    keys = np.array([int(day.strftime("%Y%m%d")) for day in days])
    np.testing.assert_array_equal(dated_csv._days_of_keys(keys), days.to_numpy())
    # A day or month that does not exist, a year pandas' nanoseconds do not reach: pandas.
    for odd in (20230229, 20210230, 20210431, 20211301, 20210001, 20210100, 16771231, 22620101):
        assert dated_csv._days_of_keys(np.array([20210104, odd])) is None


def test_duplicates_in_different_halves_are_found(tmp_path):
    lines = [
        f"{day.date()},S{n:04d},0.00123"
        for day in pd.bdate_range("2015-01-01", periods=500)
        for n in range(100)
    ]
    path = tmp_path / "w.csv"
    path.write_text("\n".join(["date,symbol,weight", *lines, lines[0]]) + "\n")
    assert path.stat().st_size > 1 << 20
    with pytest.raises(BacktestInputError, match="duplicate"):
        dated_csv.read_dated_csv(path, "weight", "weights")


def test_thousands_of_symbols_grow_the_symbol_table(tmp_path):
    """The scan's table of symbols starts with room for 512 and grows while rows are scanned
    (the row that finds it full is scanned again): 3,000 symbols in another order each date
    read as the lines say."""
    rng = np.random.default_rng(5)
    symbols = [f"T{n:05d}" for n in range(3000)]
    lines = [
        f"{day.date()},{symbol},{float(rng.random())!r}"
        for day in pd.bdate_range("2020-01-01", periods=4)
        for symbol in rng.permutation(symbols)[:2000]
    ]
    path = tmp_path / "w.csv"
    path.write_text("\n".join(["date,symbol,weight", *lines]) + "\n")
    assert dated_csv._read_plain(path, "weight") is not None  # not left to pandas
    assert rows_of(dated_csv.read_dated_csv(path, "weight", "weights")) == rows_of_lines(lines)


@pytest.mark.parametrize("chunk_bytes", [1 << 20, 4099])
@pytest.mark.parametrize(
    "line_end, final_line_end", [("\n", True), ("\r\n", True), ("\n", False), ("\r\n", False)]
)
def test_a_file_read_in_two_halves_equals_pandas(
    tmp_path, line_end, final_line_end, chunk_bytes, monkeypatch
):
    """Files over a megabyte are read and scanned in two halves at once, a chunk at a time:
    a symbol first seen in the second half, a date's run across the split, lines across
    chunks, numbers of every kind and a last line without its end come out as one pass (and
    pandas) reads them."""
    from app.engine import dated_csv_scan

    monkeypatch.setattr(dated_csv_scan, "_CHUNK_BYTES", chunk_bytes)

    rng = np.random.default_rng(17)
    days = pd.bdate_range("2015-01-01", periods=500)
    lines = []
    for k, day in enumerate(days):
        symbols = [f"S{n:04d}" for n in range(60)] + (["LATE"] if k > 400 else [])
        for symbol in symbols:
            weight = float(rng.random() * 10.0 ** -rng.integers(0, 4))
            lines.append(f"{day.date()},{symbol},{weight!r}")
    text = line_end.join(["date,symbol,weight", *lines]) + (line_end if final_line_end else "")
    assert len(text) > 1 << 20
    path = tmp_path / "w.csv"
    path.write_bytes(text.encode())
    split = dated_csv.read_dated_csv(path, "weight", "weights")
    assert len(dated_csv_scan.scan_file(path).parts) == 2
    assert rows_of(split) == rows_of(read_with_pandas_only(path))
    assert rows_of(split) == rows_of_lines(lines)
    monkeypatch.setattr(dated_csv_scan, "_SPLIT_BYTES", 1 << 40)  # one pass
    assert len(dated_csv_scan.scan_file(path).parts) == 1
    whole = dated_csv.read_dated_csv(path, "weight", "weights")
    for name in ("dates", "symbols", "values", "n_rows"):
        np.testing.assert_array_equal(getattr(split, name), getattr(whole, name))


def test_a_file_whose_halves_end_lines_differently_goes_to_pandas(tmp_path):
    lines = [
        f"{day.date()},S{n:04d},0.00123"
        for day in pd.bdate_range("2015-01-01", periods=500)
        for n in range(100)
    ]
    half = len(lines) // 2
    text = "\n".join(["date,symbol,weight", *lines[:half]]) + "\n"
    text += "\r\n".join(lines[half:]) + "\r\n"  # the second half's lines end as Windows' do
    path = tmp_path / "w.csv"
    path.write_text(text, newline="")
    assert path.stat().st_size > 1 << 20
    assert dated_csv._read_plain(path, "weight") is None
    assert rows_of(dated_csv.read_dated_csv(path, "weight", "weights")) == rows_of(
        read_with_pandas_only(path)
    )


def test_a_header_longer_than_a_chunk_goes_to_pandas(tmp_path, monkeypatch):
    from app.engine import dated_csv_scan

    monkeypatch.setattr(dated_csv_scan, "_CHUNK_BYTES", 16)
    path = tmp_path / "w.csv"
    path.write_text("date,symbol,weight\n2021-01-04,A,0.5\n2021-01-05,A,0.25\n")
    assert dated_csv_scan.scan_file(path) is None
    assert rows_of(dated_csv.read_dated_csv(path, "weight", "weights")) == rows_of(
        read_with_pandas_only(path)
    )
    monkeypatch.setattr(dated_csv_scan, "_CHUNK_BYTES", 20)  # the header's end just in it
    assert len(dated_csv_scan.scan_file(path).parts[0].values) == 2
