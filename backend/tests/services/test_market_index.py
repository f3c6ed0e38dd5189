"""The server checks requests against the market's sessions and symbols read from the
Parquet store's key columns (``MarketIndex``), not the price panel: the two agree."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.engine import store
from app.engine.store import load_market_data
from app.errors import Conflict
from app.services.market import load_market_index, read_parquet_index


def test_the_index_matches_the_loaded_panel(small_market_dir):
    panel = load_market_data("parquet", small_market_dir)
    index = read_parquet_index(small_market_dir)
    assert index.sessions.equals(panel.sessions)
    assert index.symbols == panel.symbols
    assert index.provenance == panel.provenance and index.synthetic
    assert all(index.column(s) == panel.column(s) for s in panel.symbols)
    assert index.has_symbol("SHY") and not index.has_symbol("NOPE")


def test_a_store_without_a_symbol_dictionary_gives_the_same_index(tmp_path, small_market_dir):
    table = pq.read_table(small_market_dir / store.BARS_FILE)
    plain = table.set_column(
        table.schema.get_field_index("symbol"),
        "symbol",
        table.column("symbol").cast(pa.string()),
    )
    pq.write_table(plain, tmp_path / store.BARS_FILE)
    panel = load_market_data("parquet", tmp_path)
    index = read_parquet_index(tmp_path)
    assert index.symbols == panel.symbols and index.sessions.equals(panel.sessions)
    assert index.provenance == panel.provenance == {"source": "parquet", "synthetic": False}


def test_the_server_does_not_load_the_price_panel(market_settings):
    store._cache.clear()
    index = load_market_index(market_settings)
    assert len(index.sessions) > 1000 and not hasattr(index, "close")
    assert store._cache == {}  # the engine's panel cache stays empty
    assert load_market_index(market_settings) is index  # cached while the files are unchanged


def test_a_missing_store_is_a_409(market_settings, tmp_path):
    market_settings.data_dir = tmp_path / "nothing"
    with pytest.raises(Conflict, match="market data is not available"):
        load_market_index(market_settings)
