"""The steps of the compiled event loop (:mod:`app.engine.event_loop`): one decision's
orders and one batch of fills. They update the loop's state in place, held in plain arrays
because numba's cached code takes no objects: ``money`` = [cash, total fees], ``counts`` =
[fills, closing P&Ls, orders submitted], ``error`` = [reason, row, asset]."""

from __future__ import annotations

import math

from numba import njit

from app.engine.execution import (
    BAD_DECISION_PRICE,
    DECIDE_UNHELD,
    DECIDE_WHEN_FLAT,
    NEGATIVE_PORTFOLIO,
)
from app.engine.orders import apply_fill, order_fee, set_holdings_quantity
from app.engine.pairwise import pairwise_sum


@njit(cache=True)
def valid_price(price: float) -> bool:
    return math.isfinite(price) and price > 0


@njit(cache=True)
def fill_orders(
    assets,
    quantity,
    price,
    n,
    row,
    decided,
    shares,
    average,
    money,
    counts,
    fee_model,
    fee_bps,
    traded_value,
    fills,
    fill_rows,
    pnl,
    scratch,
):
    """Fill ``n`` orders at ``price`` in the given order; book cash, fees, traded value, each
    fill (fills: asset, quantity, price, fee; fill_rows: decision row, fill row) and each
    reducing fill's P&L less twice its fee (LEAN's trade record)."""
    if n == 0:
        return
    value, fee, absolute = scratch[0], scratch[1], scratch[2]
    charges_fees = fee_model != 0
    for k in range(n):
        a = assets[k]
        value[k] = quantity[k] * price[k]
        absolute[k] = abs(value[k])
        fee[k] = order_fee(quantity[k], price[k], fee_model, fee_bps) if charges_fees else 0.0
        reducing, realized = apply_fill(shares, average, a, quantity[k], price[k])
        if reducing:
            pnl[counts[1]] = realized - 2.0 * fee[k] if charges_fees else realized
            counts[1] += 1
        f = counts[0]
        fills[f, 0] = a
        fills[f, 1] = quantity[k]
        fills[f, 2] = price[k]
        fills[f, 3] = fee[k]
        fill_rows[f, 0] = decided
        fill_rows[f, 1] = row
        counts[0] += 1
    fees = pairwise_sum(fee, 0, n) if charges_fees else 0.0
    money[0] -= pairwise_sum(value, 0, n) + fees
    money[1] += fees
    traded_value[row] += pairwise_sum(absolute, 0, n)


@njit(cache=True)
def portfolio_value_at(cash, shares, mark, row, columns, scratch):
    """cash + sum(shares * mark[row]) in pairwise order."""
    n_assets = shares.size
    for a in range(n_assets):
        scratch[a] = shares[a] * mark[row, columns[a]]
    return cash + pairwise_sum(scratch, 0, n_assets)


@njit(cache=True)
def decision_orders(
    decision,
    row,
    panel_row,
    columns,
    held_now,
    out_assets,
    out_quantity,
    weights,
    modes,
    close,
    mark,
    shares,
    leverage,
    lowest_leverage,
    alive,
    money,
    counts,
    settings,
    error,
    scratch,
):
    """The orders of one decision into out_assets/out_quantity (ascending assets); their
    count, or -1 after recording an error. ``held_now``: shares plus those in orders already
    placed at this bar."""
    fractional, free, minimum, fee_model, fee_bps = settings
    n_assets = shares.size
    mode = modes[decision]
    if mode == DECIDE_WHEN_FLAT:
        for a in range(n_assets):
            if held_now[a] != 0:
                return 0
    needed = out_assets
    n = 0
    for a in range(n_assets):
        w = weights[decision, a]
        has_target = math.isfinite(w)
        wants_shares = has_target and w != 0
        held_any = held_now[a] != 0
        if mode == DECIDE_UNHELD:
            targeted = wants_shares and not held_any
        else:
            targeted = wants_shares or (held_any and has_target)
        if targeted and alive[a]:
            needed[n] = a
            n += 1
    if n == 0:
        return 0
    for k in range(n):
        if not valid_price(close[panel_row, columns[needed[k]]]):
            error[0], error[1], error[2] = BAD_DECISION_PRICE, row, needed[k]
            return -1
    portfolio_value = portfolio_value_at(money[0], shares, mark, panel_row, columns, scratch[0])
    if portfolio_value < 0:
        error[0], error[1] = NEGATIVE_PORTFOLIO, row
        return -1
    placed = 0
    for k in range(n):
        a = needed[k]
        quantity = set_holdings_quantity(
            weights[decision, a],
            held_now[a],
            close[panel_row, columns[a]],
            portfolio_value,
            leverage[a],
            fractional,
            free,
            minimum,
            fee_model,
            fee_bps,
        )
        if quantity != 0:
            out_assets[placed] = a
            out_quantity[placed] = quantity
            placed += 1
    counts[2] += placed
    if placed == 0:
        return 0
    # LEAN's margin check: an order adding margin (value / leverage + fee) beyond what is left
    # is invalid. The usual case is settled at once by a bound: all orders' value at the
    # lowest leverage plus fees of at most $1 + 0.5 % of the value (or the bps fee).
    absolute = scratch[1]
    for k in range(placed):
        absolute[k] = abs(out_quantity[k] * close[panel_row, columns[out_assets[k]]])
    value = pairwise_sum(absolute, 0, placed)
    used = scratch[0]
    for a in range(n_assets):
        used[a] = abs(shares[a]) * (mark[panel_row, columns[a]] / leverage[a])
    margin_left = portfolio_value - pairwise_sum(used, 0, n_assets)
    fee_rate = 0.005 + fee_bps / 10000.0
    if value / lowest_leverage + placed + fee_rate * value <= margin_left:
        return placed
    valid = 0
    for k in range(placed):
        a, quantity = out_assets[k], out_quantity[k]
        price = close[panel_row, columns[a]]
        held = held_now[a]
        added_margin = max(abs(held + quantity) - abs(held), 0.0) * price
        added_margin /= leverage[a]
        if added_margin > 0:
            fee = order_fee(quantity, price, fee_model, fee_bps)
            if added_margin + fee > margin_left + 1e-9:
                continue
            margin_left -= added_margin
        out_assets[valid] = a
        out_quantity[valid] = quantity
        valid += 1
    return valid
