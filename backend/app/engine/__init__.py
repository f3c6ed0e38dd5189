"""StockLean's backtest engine: market data stores, strategies, a LEAN-compatible daily
simulator and LEAN-format statistics. Importable without FastAPI or a database."""

from app.engine.backtest import BacktestResult, panel_fields, run_backtest
from app.engine.errors import BacktestInputError
from app.engine.market import PANEL_FIELDS, MarketData
from app.engine.store import get_market_data, load_market_data

__all__ = [
    "PANEL_FIELDS",
    "BacktestInputError",
    "BacktestResult",
    "MarketData",
    "get_market_data",
    "load_market_data",
    "panel_fields",
    "run_backtest",
]
