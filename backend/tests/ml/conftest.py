from __future__ import annotations

import pytest
from ml_panels import make_planted_panel

from app.engine.market import MarketData


@pytest.fixture(scope="session")
def planted_panel() -> MarketData:
    return make_planted_panel()
