"""What the engine's execution rules are parameterised by, without the compiled code: the
settings record, LEAN's constants and the codes the compiled loop takes. The API server
validates parameters with these and never imports numba; the workers that run backtests do."""

from __future__ import annotations

from dataclasses import dataclass

IB_FEE_PER_SHARE = 0.005
IB_MINIMUM_FEE = 1.0
# DESIGN §5 (LEAN ``InteractiveBrokersFeeModel``): at most 0.5 % of the order's value, and the
# cap only applies when the per-share fee is above the $1 minimum.
IB_MAXIMUM_FEE_FRACTION = 0.005
# The cap 0.005 * |shares| * |price| is below the per-share fee exactly when |price| < this.
IB_CAP_PRICE = IB_MAXIMUM_FEE_FRACTION / IB_FEE_PER_SHARE
# LEAN's ``Settings.MinimumOrderMarginPortfolioPercentage``.
MINIMUM_ORDER_MARGIN_FRACTION = 0.001
# LEAN's equity default leverage (margin account).
DEFAULT_LEVERAGE = 2.0
# ExecutionSettings.fee_model as the integer the compiled code takes.
FEE_MODEL_CODES = {"none": 0, "interactive_brokers": 1, "bps": 2}
FEE_NONE, FEE_INTERACTIVE_BROKERS, FEE_BPS = 0, 1, 2
# LEAN's sizing loop gives up after this many adjustments.
MAX_SIZING_STEPS = 100


@dataclass(frozen=True)
class ExecutionSettings:
    fill_model: str = "next_open"
    fractional_shares: bool = False
    fee_model: str = "interactive_brokers"
    fee_bps: float = 0.0
    free_portfolio_value_percentage: float = 0.0025
    data_normalization: str = "adjusted"
    minimum_order_margin_percentage: float = MINIMUM_ORDER_MARGIN_FRACTION

    @property
    def fee_model_code(self) -> int:
        return FEE_MODEL_CODES[self.fee_model]


FILL_MODELS = ("next_open", "close")
FEE_MODELS = ("interactive_brokers", "bps", "none")
NORMALIZATIONS = ("adjusted", "raw")
# How a decision applies: every time, only while nothing is held (LEAN's
# ``if not Portfolio.Invested``), or only for the assets not held yet.
DECIDE_ALWAYS, DECIDE_WHEN_FLAT, DECIDE_UNHELD = 0, 1, 2
# Why a run stopped (the first field of the loop's error record).
NO_ERROR, BAD_DECISION_PRICE, NEGATIVE_PORTFOLIO, BAD_FILL_PRICE = 0, 1, 2, 3
