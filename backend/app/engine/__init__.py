"""StockLean's backtest engine: market data stores, strategies, a LEAN-compatible daily
simulator and LEAN-format statistics. Importable without FastAPI or a database."""

from app.engine.backtest import BacktestResult, run_backtest
from app.engine.errors import BacktestInputError
from app.engine.market import MarketData
from app.engine.store import get_market_data, load_market_data

__all__ = [
    "BacktestInputError",
    "BacktestResult",
    "MarketData",
    "get_market_data",
    "load_market_data",
    "run_backtest",
]
