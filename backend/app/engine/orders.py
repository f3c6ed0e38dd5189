"""LEAN's order rules for US equities as pure functions over numpy arrays: the Interactive
Brokers fee, SetHoldings sizing (``BuyingPowerModel.GetMaximumOrderQuantityForTargetBuyingPower``
with the minimum order margin) and position accounting with realized P&L for longs and shorts
(``SecurityHolding``/``SecurityPortfolioManager``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IB_FEE_PER_SHARE = 0.005
IB_MINIMUM_FEE = 1.0
# DESIGN §5 (LEAN ``InteractiveBrokersFeeModel``): at most 0.5 % of the order's value, and the
# cap only applies when the per-share fee is above the $1 minimum.
IB_MAXIMUM_FEE_FRACTION = 0.005
# LEAN's ``Settings.MinimumOrderMarginPortfolioPercentage``.
MINIMUM_ORDER_MARGIN_FRACTION = 0.001
# LEAN's equity default leverage (margin account).
DEFAULT_LEVERAGE = 2.0


@dataclass(frozen=True)
class ExecutionSettings:
    fill_model: str = "next_open"
    fractional_shares: bool = False
    fee_model: str = "interactive_brokers"
    fee_bps: float = 0.0
    free_portfolio_value_percentage: float = 0.0025
    data_normalization: str = "adjusted"
    minimum_order_margin_percentage: float = MINIMUM_ORDER_MARGIN_FRACTION


def interactive_brokers_fees(quantity: np.ndarray, price: np.ndarray) -> np.ndarray:
    """IB US equity fee per order: f = 0.005 * |shares|; f < $1 -> $1, else
    f > 0.5 % of |value| -> 0.5 % of |value|; 0 for an empty order."""
    shares = np.abs(quantity)
    per_share = IB_FEE_PER_SHARE * shares
    cap = IB_MAXIMUM_FEE_FRACTION * shares * np.abs(price)
    fee = np.where(per_share < IB_MINIMUM_FEE, IB_MINIMUM_FEE, np.minimum(per_share, cap))
    return np.where(shares > 0, fee, 0.0)


def order_fees(quantity: np.ndarray, price: np.ndarray, settings: ExecutionSettings) -> np.ndarray:
    """Fee of each order under ``settings.fee_model`` (``bps``: |value| * fee_bps / 10000)."""
    if settings.fee_model == "none":
        return np.zeros(np.shape(price))
    if settings.fee_model == "interactive_brokers":
        return interactive_brokers_fees(quantity, price)
    return np.abs(quantity) * price * settings.fee_bps / 10000.0


def _round_adjustment(adjustment: np.ndarray) -> np.ndarray:
    # LEAN rounds the adjustment away from the target: down when negative, up when positive.
    return np.where(adjustment < 0, np.floor(adjustment), np.ceil(adjustment))


def set_holdings_quantities(
    weights: np.ndarray,
    held: np.ndarray,
    price: np.ndarray,
    portfolio_value: float,
    leverage: np.ndarray,
    settings: ExecutionSettings,
) -> np.ndarray:
    """Signed order quantity per asset for SetHoldings(weight), as LEAN sizes it.

    target T = w * (TPV - free * TPV); current C = held * price; no order when
    |T - C| / leverage < minimum_order_margin * TPV; a zero weight closes the position.
    Otherwise q = floor(|T - C| / price) in the direction of T - C, then, until
    |held + q| * price <= |T| with T recomputed as w * (TPV - fee(q) - free * TPV), q is
    reduced by the shortfall in whole shares (rounded away from the target). Fractional
    shares skip the rounding and the fee loop."""
    free = portfolio_value * settings.free_portfolio_value_percentage
    target = weights * (portfolio_value - free)
    current = held * price
    gap = target - current
    direction = np.where(gap > 0, 1.0, -1.0)
    quantity = np.abs(gap) / price
    large_enough = (
        np.abs(gap) / leverage >= settings.minimum_order_margin_percentage * portfolio_value
    )
    if not settings.fractional_shares:
        quantity = np.floor(quantity)
        active = large_enough & (quantity > 0)
        for _ in range(100):
            if not active.any():
                break
            over = active & (np.abs((held + direction * quantity) * price) > np.abs(target))
            adjustment = _round_adjustment((quantity * price - np.abs(gap)) / price)
            quantity = np.where(over, quantity - adjustment, quantity)
            fee = order_fees(direction * quantity, price, settings)
            target = np.where(active, weights * (portfolio_value - fee - free), target)
            gap = target - current
            active &= quantity > 0
            active &= np.abs((held + direction * quantity) * price) > np.abs(target)
    orders = np.where(large_enough & (quantity > 0), direction * quantity, 0.0)
    orders = np.where(weights == 0, -held, orders)
    return orders


def apply_fills(
    shares: np.ndarray,
    average_price: np.ndarray,
    assets: np.ndarray,
    quantity: np.ndarray,
    price: np.ndarray,
) -> np.ndarray:
    """Update ``shares`` and ``average_price`` in place for fills of signed ``quantity`` at
    ``price`` (one per asset) and return each fill's realized P&L (before fees):
    closed = min(|q|, |held|) when q opposes the position, P&L = closed * (price - average)
    * sign(held). The average price moves only when the position grows; after a flip it is
    the fill price; 0 when flat."""
    held = shares[assets]
    average = average_price[assets]
    after = held + quantity
    reducing = (held != 0) & (np.sign(quantity) != np.sign(held))
    closed = np.where(reducing, np.minimum(np.abs(quantity), np.abs(held)), 0.0)
    realized = closed * (price - average) * np.sign(held)
    growing = ~reducing
    with np.errstate(invalid="ignore", divide="ignore"):
        grown = (held * average + quantity * price) / after
    flipped = reducing & (np.sign(after) == -np.sign(held)) & (after != 0)
    new_average = np.where(growing, grown, average)
    new_average = np.where(flipped, price, new_average)
    new_average = np.where(after == 0, 0.0, new_average)
    shares[assets] = after
    average_price[assets] = new_average
    return realized
