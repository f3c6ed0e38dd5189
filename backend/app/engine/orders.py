"""LEAN's order rules for US equities: the Interactive Brokers fee, SetHoldings sizing
(``BuyingPowerModel.GetMaximumOrderQuantityForTargetBuyingPower`` with the minimum order
margin) and position accounting with realized P&L for longs and shorts
(``SecurityHolding``/``SecurityPortfolioManager``).

The rules are scalar functions compiled with numba (``njit``), because the simulator's event
loop (:mod:`app.engine.event_loop`) calls them once per asset per rebalance and numpy's
per-call overhead on a few dozen assets was most of a backtest's time. The array functions
below apply them element by element for callers outside that loop. Compiled code does the
same IEEE double operations in the same order as the formulas read (no fast-math), so results
equal the former numpy ones bit for bit. The scalar rules are inlined into their callers
(``inline="always"``), which then decide the error model of their divisions."""

from __future__ import annotations

import numpy as np
from numba import njit

from app.engine.execution import (
    FEE_BPS,
    FEE_INTERACTIVE_BROKERS,
    IB_CAP_PRICE,
    IB_FEE_PER_SHARE,
    IB_MINIMUM_FEE,
    MAX_SIZING_STEPS,
    ExecutionSettings,
)
from app.engine.numba_cache import drop_stale_cache

drop_stale_cache()

__all__ = [
    "ExecutionSettings",
    "apply_fill",
    "interactive_brokers_fee",
    "interactive_brokers_fees",
    "order_fee",
    "order_fees",
    "set_holdings_quantities",
    "set_holdings_quantity",
]


@njit(cache=True, inline="always")
def interactive_brokers_fee(quantity: float, price: float) -> float:
    """IB US equity fee of one order: f = 0.005 * |shares|; f < $1 -> $1, else
    f > 0.5 % of |value| -> 0.5 % of |value|; 0 for an empty order."""
    per_share = IB_FEE_PER_SHARE * abs(quantity)
    if not per_share > 0:
        return 0.0
    if per_share < IB_MINIMUM_FEE:
        return IB_MINIMUM_FEE
    return per_share * min(abs(price), IB_CAP_PRICE)


@njit(cache=True, inline="always")
def order_fee(quantity: float, price: float, fee_model: int, fee_bps: float) -> float:
    """Fee of one order under a fee model code (``FEE_BPS``: |value| * fee_bps / 10000)."""
    if fee_model == FEE_INTERACTIVE_BROKERS:
        return interactive_brokers_fee(quantity, price)
    if fee_model == FEE_BPS:
        return abs(quantity) * price * fee_bps / 10000.0
    return 0.0


@njit(cache=True, inline="always")
def set_holdings_quantity(
    weight: float,
    held: float,
    price: float,
    portfolio_value: float,
    leverage: float,
    fractional: bool,
    free_percentage: float,
    minimum_margin_percentage: float,
    fee_model: int,
    fee_bps: float,
) -> float:
    """Signed order quantity for SetHoldings(weight) of one asset, as LEAN sizes it.

    target T = w * (TPV - free * TPV); current C = held * price; a zero weight closes the
    position; no order when |T - C| / leverage < minimum_order_margin * TPV. Otherwise
    q = floor(|T - C| / price) in the direction of T - C, then, until
    |held + q| * price <= |T| with T recomputed as w * (TPV - fee(q) - free * TPV), q is
    reduced by the shortfall in whole shares (rounded away from the target). Fractional
    shares skip the rounding and the fee loop."""
    if weight == 0:
        return -held
    usable = portfolio_value - portfolio_value * free_percentage
    target = weight * usable
    current = held * price
    gap = target - current
    # |gap| / leverage >= minimum * value, without the division.
    if not abs(gap) >= minimum_margin_percentage * portfolio_value * leverage:
        return 0.0
    if fractional:
        return gap / price
    direction = 1.0 if gap > 0 else -1.0
    quantity = np.floor(abs(gap) / price)
    if not quantity > 0:
        return 0.0
    held_value = abs(held + direction * quantity) * price
    for _ in range(MAX_SIZING_STEPS):
        # LEAN's loop: shrink while the resulting holding exceeds the target, then re-target
        # with the order's fee taken out of the usable value.
        if held_value > abs(target) and quantity > 0:
            # Rounded away from the target: down when negative, up when positive.
            adjustment = (quantity * price - abs(target - current)) / price
            quantity -= np.floor(adjustment) if adjustment < 0 else np.ceil(adjustment)
            held_value = abs(held + direction * quantity) * price
        target = weight * (usable - order_fee(direction * quantity, price, fee_model, fee_bps))
        if not (held_value > abs(target) and quantity > 0):
            break
    return direction * quantity if quantity > 0 else 0.0


@njit(cache=True)
def _fees(quantity, price, fee_model, fee_bps):
    fees = np.empty(quantity.size)
    for k in range(quantity.size):
        fees[k] = order_fee(quantity[k], price[k], fee_model, fee_bps)
    return fees


@njit(cache=True)
def _quantities(weights, held, price, portfolio_value, leverage, fractional, free, minimum, fee):
    quantity = np.empty(weights.size)
    fee_model, fee_bps = fee
    for k in range(weights.size):
        quantity[k] = set_holdings_quantity(
            weights[k],
            held[k],
            price[k],
            portfolio_value,
            leverage[k],
            fractional,
            free,
            minimum,
            int(fee_model),
            fee_bps,
        )
    return quantity


def _floats(values) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64)


def interactive_brokers_fees(quantity: np.ndarray, price: np.ndarray) -> np.ndarray:
    """:func:`interactive_brokers_fee` of each order."""
    return _fees(_floats(quantity), _floats(price), FEE_INTERACTIVE_BROKERS, 0.0)


def order_fees(quantity: np.ndarray, price: np.ndarray, settings: ExecutionSettings) -> np.ndarray:
    """Fee of each order under ``settings.fee_model``."""
    return _fees(_floats(quantity), _floats(price), settings.fee_model_code, settings.fee_bps)


def set_holdings_quantities(
    weights: np.ndarray,
    held: np.ndarray,
    price: np.ndarray,
    portfolio_value: float,
    leverage: np.ndarray,
    settings: ExecutionSettings,
) -> np.ndarray:
    """:func:`set_holdings_quantity` of each asset."""
    return _quantities(
        _floats(weights),
        _floats(held),
        _floats(price),
        float(portfolio_value),
        _floats(leverage),
        settings.fractional_shares,
        settings.free_portfolio_value_percentage,
        settings.minimum_order_margin_percentage,
        (float(settings.fee_model_code), settings.fee_bps),
    )


@njit(cache=True, inline="always")
def apply_fill(
    shares: np.ndarray, average_price: np.ndarray, asset: int, quantity: float, price: float
) -> tuple[bool, float]:
    """Update ``shares`` and ``average_price`` of one asset in place for a fill of signed
    ``quantity`` at ``price``; return (whether it reduced the position, its realized P&L
    before fees). A fill reduces when it opposes the position: closed = min(|q|, |held|),
    P&L = closed * (price - average) * sign(held). The average price moves only when the
    position grows; after a flip it is the fill price; 0 when flat."""
    held = shares[asset]
    average = average_price[asset]
    after = held + quantity
    held_times_quantity = held * quantity
    realized = 0.0
    reducing = held_times_quantity < 0
    if reducing:
        # Reduced: the average stays; flipped: the fill price; closed: 0.
        left = after * held
        new_average = average if left > 0 else (price if left < 0 else 0.0)
        closed = min(abs(quantity), abs(held))
        realized = closed * (price - average) * (1.0 if held > 0 else -1.0)
    elif after != 0:
        # Growing (or opening): the average of the old and the new shares' prices.
        new_average = (held * average + quantity * price) / after
    else:
        new_average = 0.0
    shares[asset] = after
    average_price[asset] = new_average
    return reducing, realized
