"""The steps of the compiled event loop (:mod:`app.engine.event_loop`): one decision's
orders, one batch of fills, the equity of the sessions until the next event. They update the
loop's state in place, held in plain arrays because numba's cached code takes no objects:
``money`` = [cash, total fees], ``counts`` = [fills, closing P&Ls, orders submitted],
``error`` = [reason, row, asset].

Steps whose divisors are never zero (a checked price, a leverage > 0, a guarded share count)
use numpy's error model: no test of each divisor for a Python ``ZeroDivisionError``. The
small scalar rules they call are inlined (``inline="always"``)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from app.engine.execution import (
    BAD_DECISION_PRICE,
    DECIDE_UNHELD,
    DECIDE_WHEN_FLAT,
    NEGATIVE_PORTFOLIO,
)
from app.engine.numba_cache import drop_stale_cache
from app.engine.orders import apply_fill, order_fee, set_holdings_quantity
from app.engine.pairwise import pairwise_sum_on

drop_stale_cache()


@njit(cache=True, inline="always")
def valid_price(price: float) -> bool:
    return math.isfinite(price) and price > 0


@njit(cache=True, error_model="numpy")
def fill_orders(
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
    record,
    batches,
    pnl,
    scratch,
    sums,
):
    """Fill the ``n`` orders written to the fill record after its ``counts[0]`` fills, at
    their price, in that order; book cash, fees (into the record), traded value, the batch
    (decision row, fill row, n) and each reducing fill's P&L less twice its fee (LEAN's trade
    record). ``record``: each fill's (asset, quantity, price, fee), the fees empty without a
    fee model. ``sums``: the work space of :func:`app.engine.pairwise.pairwise_sum_on`."""
    if n == 0:
        return
    assets, quantity, price, fee = record
    value, absolute = scratch[0], scratch[1]
    charges_fees = fee_model != 0
    start, n_pnl = counts[0], counts[1]
    for f in range(start, start + n):
        a, q, p = assets[f], quantity[f], price[f]
        value[f - start] = q * p
        absolute[f - start] = abs(q * p)
        reducing, realized = apply_fill(shares, average, a, q, p)
        if charges_fees:
            fill_fee = order_fee(q, p, fee_model, fee_bps)
            fee[f] = fill_fee
            realized -= 2.0 * fill_fee
        if reducing:
            pnl[n_pnl] = realized
            n_pnl += 1
    # One row per batch, not per fill: a batch's fills share their rows.
    batch = counts[3]
    batches[batch, 0], batches[batch, 1], batches[batch, 2] = decided, row, n
    counts[0], counts[1], counts[3] = start + n, n_pnl, batch + 1
    fees = pairwise_sum_on(fee, start, n, sums) if charges_fees else 0.0
    money[0] -= pairwise_sum_on(value, 0, n, sums) + fees
    money[1] += fees
    traded_value[row] += pairwise_sum_on(absolute, 0, n, sums)


@njit(cache=True)
def reducing_first(assets, quantity, price, n, shares, out_assets, out_quantity, out_price):
    """Move ``n`` orders into the out arrays, those reducing a position first (a sell of a
    long, a buy of a short), each group in its given order. The growing ones are gathered at
    the front of the input arrays on the way (never ahead of the order being read)."""
    # Without branches (each order is written to both places, the count decides which copy
    # stays): which group an order joins is a coin flip the CPU cannot predict.
    n_reducing, n_growing = 0, 0
    for k in range(n):
        a, q, p = assets[k], quantity[k], price[k]
        reducing = shares[a] * q < 0
        out_assets[n_reducing], out_quantity[n_reducing], out_price[n_reducing] = a, q, p
        assets[n_growing], quantity[n_growing], price[n_growing] = a, q, p
        n_reducing += reducing
        n_growing += not reducing
    out_assets[n_reducing:n] = assets[:n_growing]
    out_quantity[n_reducing:n] = quantity[:n_growing]
    out_price[n_reducing:n] = price[:n_growing]


@njit(cache=True, error_model="numpy")
def decision_orders(
    decision,
    row,
    panel_row,
    columns,
    held_now,
    out_assets,
    out_quantity,
    out_price,
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
    sums,
):
    """The orders of one decision into out_assets/out_quantity/out_price (ascending assets,
    priced at this close); their count, or -1 after recording an error. ``held_now``: shares
    plus those in orders already placed at this bar. ``leverage`` > 0 (numpy's error model:
    no check for a division by zero). ``sums``: as in :func:`fill_orders`."""
    fractional, free, minimum, fee_model, fee_bps = settings
    n_assets = shares.size
    mode = modes[decision]
    if mode == DECIDE_WHEN_FLAT:
        for a in range(n_assets):
            if held_now[a] != 0:
                return 0
    # The positions' values and the margin they use in the same pass over the assets.
    held_value, used, absolute = scratch[0], scratch[1], scratch[2]
    needed = out_assets
    n = 0
    for a in range(n_assets):
        mark_price = mark[panel_row, columns[a]]
        held_value[a] = shares[a] * mark_price
        used[a] = abs(shares[a]) * (mark_price / leverage[a])
        w = weights[decision, a]
        has_target = math.isfinite(w)
        wants_shares = has_target and w != 0
        held_any = held_now[a] != 0
        if mode == DECIDE_UNHELD:
            targeted = wants_shares and not held_any
        else:
            targeted = wants_shares or (held_any and has_target)
        if targeted and alive[a]:
            price = close[panel_row, columns[a]]
            if not valid_price(price):
                error[0], error[1], error[2] = BAD_DECISION_PRICE, row, a
                return -1
            needed[n] = a
            out_price[n] = price
            n += 1
    if n == 0:
        return 0
    portfolio_value = money[0] + pairwise_sum_on(held_value, 0, n_assets, sums)
    if portfolio_value < 0:
        error[0], error[1] = NEGATIVE_PORTFOLIO, row
        return -1
    placed = 0
    for k in range(n):
        # Written at or before k: the needed assets and their prices are read first.
        a, price = needed[k], out_price[k]
        quantity = set_holdings_quantity(
            weights[decision, a],
            held_now[a],
            price,
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
            out_price[placed] = price
            absolute[placed] = abs(quantity * price)
            placed += 1
    counts[2] += placed
    if placed == 0:
        return 0
    # LEAN's margin check: an order adding margin (value / leverage + fee) beyond what is left
    # is invalid. The usual case is settled at once by a bound: all orders' value at the
    # lowest leverage plus fees of at most $1 + 0.5 % of the value (or the bps fee).
    value = pairwise_sum_on(absolute, 0, placed, sums)
    margin_left = portfolio_value - pairwise_sum_on(used, 0, n_assets, sums)
    fee_rate = 0.005 + fee_bps / 10000.0
    if value / lowest_leverage + placed + fee_rate * value <= margin_left:
        return placed
    valid = 0
    for k in range(placed):
        a, quantity, price = out_assets[k], out_quantity[k], out_price[k]
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
        out_price[valid] = price
        valid += 1
    return valid


@njit(cache=True)
def mark_equity(equity, start, end, first_row, cash, shares, columns, mark, held_scratch):
    """equity[t] = cash + the sum, left to right over the held assets in column order, of
    shares * mark[first_row + t] for the window rows start <= t < end. ``held_scratch``: the
    held assets' shares and columns (unsigned: indexes numba need not check for Python's
    negative indexing)."""
    held_shares, held_columns = held_scratch
    n_held = 0
    for a in range(shares.size):
        if shares[a] != 0:
            held_shares[n_held] = shares[a]
            held_columns[n_held] = columns[a]
            n_held += 1
    # Four sessions' sums run side by side (each still in the held assets' order), so that
    # their additions overlap instead of waiting on one another; past ``end`` the last
    # session is summed again and not stored.
    session = start
    while session < end:
        m0 = mark[first_row + session]
        m1 = mark[first_row + min(session + 1, end - 1)]
        m2 = mark[first_row + min(session + 2, end - 1)]
        m3 = mark[first_row + min(session + 3, end - 1)]
        e0 = e1 = e2 = e3 = 0.0
        for k in range(n_held):
            q, c = held_shares[k], held_columns[k]
            e0 += q * m0[c]
            e1 += q * m1[c]
            e2 += q * m2[c]
            e3 += q * m3[c]
        for s, e in ((0, e0), (1, e1), (2, e2), (3, e3)):
            if session + s < end:
                equity[session + s] = cash + e
        session += 4


@njit(cache=True, nogil=True)
def mark_events(
    equity, event_rows, first_event, end_event, n_sessions, first_row, cash, shares, columns, mark
):
    """:func:`mark_equity` of the sessions from event ``first_event`` up to event
    ``end_event`` (each event's until the next one's, the last one's until ``n_sessions``),
    with the cash and shares held after each event. Free of the GIL: two halves of the
    events run at once (:func:`app.engine.simulator.simulate`)."""
    held_scratch = (np.empty(columns.size), np.empty(columns.size, dtype=np.uint64))
    for event in range(first_event, end_event):
        end = event_rows[event + 1] if event + 1 < event_rows.size else n_sessions
        mark_equity(
            equity,
            event_rows[event],
            end,
            first_row,
            cash[event],
            shares[event],
            columns,
            mark,
            held_scratch,
        )
