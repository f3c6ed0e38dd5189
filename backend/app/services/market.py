"""The market data the services validate requests against (sessions, symbols, provenance)."""

from __future__ import annotations

from app.config import Settings
from app.errors import Conflict


def load_market(settings: Settings):
    """The configured market data store; a missing or unreadable store is a 409 that says
    how to make one."""
    from app.engine import BacktestInputError, get_market_data

    try:
        return get_market_data(settings.data_source, settings.data_dir)
    except (BacktestInputError, OSError) as exc:
        raise Conflict(
            f"market data is not available ({settings.data_source} at {settings.data_dir}): "
            f"{exc}. Run `stocklean data synth` or point STOCKLEAN_DATA_DIR at a data store."
        ) from exc
