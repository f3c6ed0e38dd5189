from __future__ import annotations

import pytest
from app.engine.market import MarketData
from ml_panels import make_planted_panel


@pytest.fixture(scope="session")
def planted_panel() -> MarketData:
    return make_planted_panel()
