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
    f > 0.5 % of |value| -> 0.5 % of |value|; 0 for an empty order. (The cap
    0.005 * |shares| * |price| binds exactly when |price| < $1.)"""
    per_share = IB_FEE_PER_SHARE * np.abs(quantity)
    capped = per_share * np.minimum(np.abs(price), IB_MAXIMUM_FEE_FRACTION / IB_FEE_PER_SHARE)
    fee = np.where(per_share < IB_MINIMUM_FEE, IB_MINIMUM_FEE, capped)
    return np.where(per_share > 0, fee, 0.0)


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
    usable = portfolio_value - portfolio_value * settings.free_portfolio_value_percentage
    target = weights * usable
    current = held * price
    gap = target - current
    # |gap| / leverage >= minimum * value, without the division.
    minimum_margin = settings.minimum_order_margin_percentage * portfolio_value
    large_enough = np.abs(gap) >= minimum_margin * leverage
    if settings.fractional_shares:
        orders = np.where(large_enough, gap / price, 0.0)
        return np.where(weights == 0, -held, orders)
    direction = np.where(gap > 0, 1.0, -1.0)
    quantity = np.abs(gap) / price
    quantity = np.floor(quantity)
    sized = np.nonzero(large_enough & (quantity > 0))[0]
    if sized.size:
        w, h, p, d, c = (a[sized] for a in (weights, held, price, direction, current))
        q, t = quantity[sized], target[sized]
        held_value = np.abs(h + d * q) * p
        for _ in range(100):
            # LEAN's loop: shrink while the resulting holding exceeds the target, then
            # re-target with the order's fee taken out of the usable value.
            over = held_value > np.abs(t)
            over &= q > 0
            if over.any():
                q = np.where(over, q - _round_adjustment((q * p - np.abs(t - c)) / p), q)
                held_value = np.abs(h + d * q) * p
            t = w * (usable - order_fees(d * q, p, settings))
            still = held_value > np.abs(t)
            still &= q > 0
            if not still.any():
                break
        quantity[sized] = q
    orders = np.where(large_enough & (quantity > 0), direction * quantity, 0.0)
    return np.where(weights == 0, -held, orders)


def apply_fills(
    shares: np.ndarray,
    average_price: np.ndarray,
    assets: np.ndarray,
    quantity: np.ndarray,
    price: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Update ``shares`` and ``average_price`` in place for fills of signed ``quantity`` at
    ``price`` (one per asset); return (realized P&L of the reducing fills before fees, the
    reducing mask). A fill reduces when it opposes the position: closed = min(|q|, |held|),
    P&L = closed * (price - average) * sign(held). The average price moves only when the
    position grows; after a flip it is the fill price; 0 when flat."""
    held = shares[assets]
    average = average_price[assets]
    after = held + quantity
    held_times_quantity = held * quantity
    reducing = held_times_quantity < 0
    # Growing (or opening) positions: the average of the old and the new shares' prices.
    grows = (held_times_quantity >= 0) & (after != 0)
    new_average = np.divide(
        held * average + quantity * price, after, out=np.zeros(assets.size), where=grows
    )
    if reducing.any():
        # Reduced: the average stays; flipped: the fill price; closed: 0.
        left = after * held
        kept_or_flipped = np.where(left > 0, average, np.where(left < 0, price, 0.0))
        new_average = np.where(reducing, kept_or_flipped, new_average)
        closed = np.minimum(np.abs(quantity), np.abs(held))
        realized = (closed * (price - average) * np.sign(held))[reducing]
    else:
        realized = np.zeros(0)
    shares[assets] = after
    average_price[assets] = new_average
    return realized, reducing
