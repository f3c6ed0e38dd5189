"""The simulator's event loop (:func:`app.engine.simulator.simulate`), compiled with numba.

It walks the sessions where something happens (a decision, a fill, a split, a dividend, a
delisting) and there only the assets involved, in LEAN's order: splits, dividends, the fills
of orders placed at the previous close, the decisions of this close, delistings. Sums over
assets follow numpy's own order (:func:`app.engine.pairwise.pairwise_sum`), so the compiled
loop gives the bit-identical floats of the numpy code it replaced; a portfolio's value is the
pairwise sum of its positions' values, the same on every CPU (a BLAS dot product, used
before, depends on the CPU's vector kernel)."""

from __future__ import annotations

import numpy as np
from numba import njit

from app.engine.execution import BAD_FILL_PRICE
from app.engine.loop_steps import (
    decision_orders,
    fill_orders,
    reducing_first,
    valid_price,
)
from app.engine.numba_cache import drop_stale_cache
from app.engine.pairwise import new_pairwise_stack, pairwise_sum_on

drop_stale_cache()


@njit(cache=True)
def run_events(
    event_rows,
    decision_rows,
    decision_order,
    weights,
    modes,
    open_price,
    close_price,
    mark,
    columns,
    first_row,
    n_sessions,
    leverage,
    last_rows,
    dividends,
    split_ratio,
    initial_cash,
    fill_next_open,
    settings,
):
    """Run the schedule over the window's ``event_rows``; see
    :func:`app.engine.simulator.simulate`.

    Prices, ``mark`` (the last known close) and ``dividends``/``split_ratio`` are panels
    read at (first_row + window row, columns[asset]); the last two have 0 rows when the run
    has none. ``decision_order``: the decisions sorted by row, stable. ``settings``:
    (fractional shares, free portfolio percentage, minimum order margin percentage, fee model
    code, fee bps).

    Returns (shares after each event, cash after each event, traded value per session, the
    fills' (assets, quantities, prices, fees: empty without a fee model), their batches
    (decision row, fill row, number of fills), closing P&Ls, (cash, total fees), (fills,
    closing P&Ls, orders submitted, batches), error record). The equity follows from the
    first two (:func:`app.engine.loop_steps.mark_events`)."""
    fractional = settings[0]
    fee_model, fee_bps = settings[3], settings[4]
    n_assets = columns.size
    n_events = event_rows.size
    has_dividends = dividends.shape[0] > 0
    has_splits = split_ratio.shape[0] > 0
    lowest_leverage = leverage.min() if n_assets else 1.0

    # At most one fill per asset per event for the orders placed at a close, plus one
    # delisting fill per asset; at most two batches of fills per event. The record is kept
    # in columns, the fees only under a fee model, and the rows once per batch: the fewer
    # bytes written per fill the better (about 160,000 fills in a weekly replay of 500
    # stocks).
    capacity = (min(decision_rows.size, n_events) + 1) * n_assets
    fill_assets = np.empty(capacity, dtype=np.int64)
    fill_quantity = np.empty(capacity)
    fill_price = np.empty(capacity)
    fill_fees = np.empty(capacity if fee_model != 0 else 0)
    record = (fill_assets, fill_quantity, fill_price, fill_fees)
    batches = np.empty((2 * n_events, 3), dtype=np.int64)
    pnl = np.empty(capacity)
    snapshot_shares = np.empty((n_events, n_assets))
    snapshot_cash = np.empty(n_events)
    traded_value = np.zeros(n_sessions)
    shares = np.zeros(n_assets)
    average = np.zeros(n_assets)
    alive = np.ones(n_assets, dtype=np.bool_)
    money = np.array([initial_cash, 0.0])
    counts = np.zeros(4, dtype=np.int64)
    error = np.zeros(3, dtype=np.int64)
    scratch = np.empty((3, max(n_assets, 1)))
    fill_scratch = np.empty((2, max(n_assets, 1)))
    sums = new_pairwise_stack()
    pending_assets = np.empty(n_assets, dtype=np.int64)
    pending_quantity = np.empty(n_assets)
    pending_price = np.empty(n_assets)
    n_pending, pending_decided = 0, 0
    order_assets = np.empty(n_assets, dtype=np.int64)
    order_quantity = np.empty(n_assets)
    order_price = np.empty(n_assets)
    placed = np.zeros(n_assets)
    held_now = np.empty(n_assets)
    next_decision = 0
    n_decisions = decision_order.size
    # The rows where some asset's data ends, found once instead of at every event.
    ends_here = np.zeros(n_sessions, dtype=np.bool_)
    for a in range(n_assets):
        if 0 <= last_rows[a] < n_sessions:
            ends_here[last_rows[a]] = True

    for event_index in range(n_events):
        row = event_rows[event_index]
        panel_row = first_row + row
        if has_splits:
            ratio = split_ratio[panel_row]
            n_split = 0
            for a in range(n_assets):
                c = columns[a]
                if ratio[c] != 1.0 and shares[a] != 0:
                    new_shares = shares[a] * ratio[c]
                    if not fractional:
                        # LEAN truncates toward zero and pays the fraction in cash at the
                        # split-adjusted reference price: the last close / the ratio.
                        whole = np.trunc(new_shares)
                        reference = mark[panel_row - 1, c] if row > 0 else open_price[panel_row, c]
                        scratch[0, n_split] = (new_shares - whole) * (reference / ratio[c])
                        n_split += 1
                        new_shares = whole
                    average[a] *= 0.0 if new_shares == 0 else shares[a] / new_shares
                    shares[a] = new_shares
            if n_split:
                money[0] += pairwise_sum_on(scratch[0], 0, n_split, sums)
            kept = 0
            for k in range(n_pending):
                a = pending_assets[k]
                quantity = pending_quantity[k] * ratio[columns[a]]
                if not fractional:
                    quantity = np.trunc(quantity)
                if quantity != 0:
                    pending_assets[kept] = a
                    pending_quantity[kept] = quantity
                    kept += 1
            n_pending = kept
        if has_dividends:
            for a in range(n_assets):
                scratch[0, a] = shares[a] * dividends[panel_row, columns[a]]
            money[0] += pairwise_sum_on(scratch[0], 0, n_assets, sums)
        if n_pending:
            start = counts[0]
            for k in range(n_pending):
                a = pending_assets[k]
                price = open_price[panel_row, columns[a]]
                if not valid_price(price):
                    error[0], error[1], error[2] = BAD_FILL_PRICE, row, a
                    return _stopped(error)
                fill_assets[start + k] = a
                fill_quantity[start + k] = pending_quantity[k]
                fill_price[start + k] = price
            fill_orders(
                n_pending,
                row,
                pending_decided,
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
                fill_scratch,
                sums,
            )
            n_pending = 0
        delisting_here = ends_here[row]
        if delisting_here and fill_next_open:
            for a in range(n_assets):
                if last_rows[a] <= row:  # no bar left to fill an order placed now
                    alive[a] = False
        # The decisions of this close, in schedule order.
        first = next_decision
        while next_decision < n_decisions and decision_rows[decision_order[next_decision]] == row:
            next_decision += 1
        # Several decisions at one close add up; each sizes against the shares held plus
        # the orders the earlier ones placed.
        n_orders = 0
        # A lone decision (the usual case) sizes against the shares held themselves, not a
        # copy plus zero placed: the same numbers, but for a -0.0 (a whole-share split
        # truncates -0.5 to -0.0), which the sizing reads as 0 all the same.
        lone = next_decision - first == 1
        if not lone:
            placed[:] = 0.0
        for d in range(first, next_decision):
            if not lone:
                for a in range(n_assets):
                    held_now[a] = shares[a] + placed[a]
            n = decision_orders(
                decision_order[d],
                row,
                panel_row,
                columns,
                shares if lone else held_now,
                order_assets,
                order_quantity,
                order_price,
                weights,
                modes,
                close_price,
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
            )
            if n < 0 or lone:  # an error, or a lone decision's orders as they are
                n_orders = n
                break
            for k in range(n):
                placed[order_assets[k]] += order_quantity[k]
        if next_decision - first > 1 and n_orders == 0:
            for a in range(n_assets):
                if placed[a] != 0:
                    order_assets[n_orders] = a
                    order_quantity[n_orders] = placed[a]
                    order_price[n_orders] = close_price[panel_row, columns[a]]
                    n_orders += 1
        if n_orders < 0:
            return _stopped(error)
        if n_orders > 0:
            # Reducing orders fill first (LEAN submits SetHoldings targets by margin impact);
            # for the next open they wait, to be priced there, else they go straight to the
            # fill record. Two calls, not one on targets picked by ``fill_next_open``: the
            # single call on the picked arrays (the record's slices or the pending ones) ran
            # the weekly 500-stock replay about 0.3 ms slower.
            if fill_next_open:
                reducing_first(
                    order_assets,
                    order_quantity,
                    order_price,
                    n_orders,
                    shares,
                    pending_assets,
                    pending_quantity,
                    pending_price,
                )
                if row + 1 < n_sessions:
                    n_pending, pending_decided = n_orders, row
            else:
                start = counts[0]
                reducing_first(
                    order_assets,
                    order_quantity,
                    order_price,
                    n_orders,
                    shares,
                    fill_assets[start:],
                    fill_quantity[start:],
                    fill_price[start:],
                )
                fill_orders(
                    n_orders,
                    row,
                    row,
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
                    fill_scratch,
                    sums,
                )
        if delisting_here:
            start, n_ending = counts[0], 0
            for a in range(n_assets):
                if last_rows[a] == row and shares[a] != 0:
                    fill_assets[start + n_ending] = a
                    fill_quantity[start + n_ending] = -shares[a]
                    fill_price[start + n_ending] = close_price[panel_row, columns[a]]
                    n_ending += 1
            counts[2] += n_ending
            fill_orders(
                n_ending,
                row,
                row,
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
                fill_scratch,
                sums,
            )
            for a in range(n_assets):
                if last_rows[a] <= row:
                    alive[a] = False
        snapshot_shares[event_index] = shares
        snapshot_cash[event_index] = money[0]

    return (
        snapshot_shares,
        snapshot_cash,
        traded_value,
        (
            fill_assets[: counts[0]],
            fill_quantity[: counts[0]],
            fill_price[: counts[0]],
            fill_fees[: counts[0]],
        ),
        batches[: counts[3]],
        pnl[: counts[1]],
        money,
        counts,
        error,
    )


@njit(cache=True)
def _stopped(error):
    return (
        np.empty((0, 0)),
        np.empty(0),
        np.empty(0),
        (np.empty(0, dtype=np.int64), np.empty(0), np.empty(0), np.empty(0)),
        np.empty((0, 3), dtype=np.int64),
        np.empty(0),
        np.zeros(2),
        np.zeros(4, dtype=np.int64),
        error,
    )
