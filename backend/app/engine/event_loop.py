"""The simulator's event loop (:func:`app.engine.simulator.simulate`), compiled with numba.

It walks the sessions where something happens (a decision, a fill, a split, a dividend, a
delisting) and there only the assets involved, in LEAN's order: splits, dividends, the fills
of orders placed at the previous close, the decisions of this close, delistings. Sums over
assets are :func:`pairwise_sum`, numpy's own summation order for ``ndarray.sum()``, so the
compiled loop gives the bit-identical floats of the numpy code it replaced; a portfolio's
value is the pairwise sum of its positions' values, the same on every CPU (a BLAS dot product
depends on the CPU's vector kernel)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from app.engine.orders import apply_fill, order_fee, set_holdings_quantity

# How a decision applies: every time, only while nothing is held (LEAN's
# ``if not Portfolio.Invested``), or only for the assets not held yet.
DECIDE_ALWAYS, DECIDE_WHEN_FLAT, DECIDE_UNHELD = 0, 1, 2
# Why a run stopped (the first field of the loop's error record).
NO_ERROR, BAD_DECISION_PRICE, NEGATIVE_PORTFOLIO, BAD_FILL_PRICE = 0, 1, 2, 3
# numpy's pairwise summation: blocks of up to 128 summed with 8 accumulators.
_PAIRWISE_BLOCK = 128


@njit(cache=True)
def _block_sum(values: np.ndarray, start: int, n: int) -> float:
    if n < 8:
        total = 0.0
        for k in range(start, start + n):
            total += values[k]
        return total
    r0, r1, r2, r3 = values[start], values[start + 1], values[start + 2], values[start + 3]
    r4, r5, r6, r7 = values[start + 4], values[start + 5], values[start + 6], values[start + 7]
    k = start + 8
    blocks_end = start + n - n % 8
    while k < blocks_end:
        r0 += values[k]
        r1 += values[k + 1]
        r2 += values[k + 2]
        r3 += values[k + 3]
        r4 += values[k + 4]
        r5 += values[k + 5]
        r6 += values[k + 6]
        r7 += values[k + 7]
        k += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while k < start + n:
        total += values[k]
        k += 1
    return total


@njit(cache=True)
def pairwise_sum(values: np.ndarray, start: int, n: int) -> float:
    """sum(values[start:start + n]) in numpy's order (``pairwise_sum`` in numpy's
    ``loops_utils``): under 8 terms left to right; up to 128 in 8 interleaved partial sums
    combined as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)) plus the rest left to
    right; above that sum(first half) + sum(second half), the half a multiple of 8."""
    if n <= _PAIRWISE_BLOCK:
        return _block_sum(values, start, n)
    # numpy recurses into the halves; numba's on-disk cache cannot hold a recursive function
    # (a cached one crashed when loaded), so the halves are walked with a stack of segments.
    segment_start = np.empty(64, dtype=np.int64)
    segment_size = np.empty(64, dtype=np.int64)
    left_sum = np.empty(64)
    right_pending = np.zeros(64, dtype=np.bool_)
    depth = 0
    segment_start[0], segment_size[0] = start, n
    while True:
        size = segment_size[depth]
        if size > _PAIRWISE_BLOCK:
            right_pending[depth] = True
            half = size // 2
            half -= half % 8
            segment_start[depth + 1], segment_size[depth + 1] = segment_start[depth], half
            depth += 1
            continue
        total = _block_sum(values, segment_start[depth], size)
        # Climb: a finished first half starts its sibling; a finished second half is added to
        # its first half's sum.
        while depth > 0:
            depth -= 1
            if right_pending[depth]:
                right_pending[depth] = False
                left_sum[depth] = total
                half = segment_size[depth] // 2
                half -= half % 8
                segment_start[depth + 1] = segment_start[depth] + half
                segment_size[depth + 1] = segment_size[depth] - half
                depth += 1
                break
            total = left_sum[depth] + total
        if depth == 0:
            return total


@njit(cache=True)
def _valid(price: float) -> bool:
    return math.isfinite(price) and price > 0


class _Ledger:
    """Field names of the loop's state arrays, for the reader (numba takes plain arrays)."""

    # money[0] cash, money[1] total fees; counts[0] fills, counts[1] closing P&Ls,
    # counts[2] orders submitted.


@njit(cache=True)
def _fill(
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
def _portfolio_value(cash, shares, mark, row, columns, scratch):
    """cash + sum(shares * mark[row]) in pairwise order."""
    n_assets = shares.size
    for a in range(n_assets):
        scratch[a] = shares[a] * mark[row, columns[a]]
    return cash + pairwise_sum(scratch, 0, n_assets)


@njit(cache=True)
def _decide(
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
        if not _valid(close[panel_row, columns[needed[k]]]):
            error[0], error[1], error[2] = BAD_DECISION_PRICE, row, needed[k]
            return -1
    portfolio_value = _portfolio_value(money[0], shares, mark, panel_row, columns, scratch[0])
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

    Returns (shares after each event, cash after each event, equity at each session's close,
    traded value per session, fills (asset, quantity, price, fee), fill rows (decision row,
    fill row), closing P&Ls, (cash, total fees), (fills, closing P&Ls, orders submitted),
    error record). equity[t] = cash[t] + sum over held assets, in column order, of
    shares * mark."""
    fractional = settings[0]
    fee_model, fee_bps = settings[3], settings[4]
    n_assets = columns.size
    n_events = event_rows.size
    has_dividends = dividends.shape[0] > 0
    has_splits = split_ratio.shape[0] > 0
    lowest_leverage = leverage.min() if n_assets else 1.0

    # At most one fill per asset per event for the orders placed at a close, plus one
    # delisting fill per asset.
    capacity = (min(decision_rows.size, n_events) + 1) * n_assets
    fills = np.empty((capacity, 4))
    fill_rows = np.empty((capacity, 2), dtype=np.int64)
    pnl = np.empty(capacity)
    snapshot_shares = np.empty((n_events, n_assets))
    snapshot_cash = np.empty(n_events)
    equity = np.empty(n_sessions)
    held_assets = np.empty(n_assets, dtype=np.int64)
    traded_value = np.zeros(n_sessions)
    shares = np.zeros(n_assets)
    average = np.zeros(n_assets)
    alive = np.ones(n_assets, dtype=np.bool_)
    money = np.array([initial_cash, 0.0])
    counts = np.zeros(3, dtype=np.int64)
    error = np.zeros(3, dtype=np.int64)
    scratch = np.empty((3, max(n_assets, 1)))
    fill_scratch = np.empty((3, max(n_assets, 1)))
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
                money[0] += pairwise_sum(scratch[0], 0, n_split)
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
            money[0] += pairwise_sum(scratch[0], 0, n_assets)
        if n_pending:
            for k in range(n_pending):
                price = open_price[panel_row, columns[pending_assets[k]]]
                if not _valid(price):
                    error[0], error[1], error[2] = BAD_FILL_PRICE, row, pending_assets[k]
                    return _stopped(error)
                pending_price[k] = price
            _fill(
                pending_assets,
                pending_quantity,
                pending_price,
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
                fills,
                fill_rows,
                pnl,
                fill_scratch,
            )
            n_pending = 0
        delisting_here = False
        for a in range(n_assets):
            if last_rows[a] == row:
                delisting_here = True
                break
        if delisting_here and fill_next_open:
            for a in range(n_assets):
                if last_rows[a] <= row:  # no bar left to fill an order placed now
                    alive[a] = False
        # The decisions of this close, in schedule order.
        first = next_decision
        while next_decision < n_decisions and decision_rows[decision_order[next_decision]] == row:
            next_decision += 1
        n_orders = 0
        if next_decision - first == 1:
            n_orders = _decide(
                decision_order[first],
                row,
                panel_row,
                columns,
                shares,
                order_assets,
                order_quantity,
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
            )
        elif next_decision - first > 1:
            placed[:] = 0.0
            for d in range(first, next_decision):
                for a in range(n_assets):
                    held_now[a] = shares[a] + placed[a]
                n = _decide(
                    decision_order[d],
                    row,
                    panel_row,
                    columns,
                    held_now,
                    order_assets,
                    order_quantity,
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
                )
                if n < 0:
                    n_orders = n
                    break
                for k in range(n):
                    placed[order_assets[k]] += order_quantity[k]
            if n_orders == 0:
                for a in range(n_assets):
                    if placed[a] != 0:
                        order_assets[n_orders] = a
                        order_quantity[n_orders] = placed[a]
                        n_orders += 1
        if n_orders < 0:
            return _stopped(error)
        if n_orders > 0:
            # Reducing orders fill first (LEAN submits SetHoldings targets by margin impact):
            # a sell of a long or a buy of a short; each group keeps its asset order.
            n_reducing = 0
            for k in range(n_orders):
                if shares[order_assets[k]] * order_quantity[k] < 0:
                    n_reducing += 1
            target = pending_assets if fill_next_open else order_assets
            target_quantity = pending_quantity if fill_next_open else order_quantity
            if fill_next_open or 0 < n_reducing < n_orders:
                reducing_at, growing_at = 0, n_reducing
                tmp_assets = order_assets.copy() if not fill_next_open else order_assets
                tmp_quantity = order_quantity.copy() if not fill_next_open else order_quantity
                for k in range(n_orders):
                    a, quantity = tmp_assets[k], tmp_quantity[k]
                    if shares[a] * quantity < 0:
                        target[reducing_at] = a
                        target_quantity[reducing_at] = quantity
                        reducing_at += 1
                    else:
                        target[growing_at] = a
                        target_quantity[growing_at] = quantity
                        growing_at += 1
            if not fill_next_open:
                for k in range(n_orders):
                    order_price[k] = close_price[panel_row, columns[order_assets[k]]]
                _fill(
                    order_assets,
                    order_quantity,
                    order_price,
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
                    fills,
                    fill_rows,
                    pnl,
                    fill_scratch,
                )
            elif row + 1 < n_sessions:
                n_pending, pending_decided = n_orders, row
        if delisting_here:
            n_ending = 0
            for a in range(n_assets):
                if last_rows[a] == row and shares[a] != 0:
                    order_assets[n_ending] = a
                    order_quantity[n_ending] = -shares[a]
                    order_price[n_ending] = close_price[panel_row, columns[a]]
                    n_ending += 1
            counts[2] += n_ending
            _fill(
                order_assets,
                order_quantity,
                order_price,
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
                fills,
                fill_rows,
                pnl,
                fill_scratch,
            )
            for a in range(n_assets):
                if last_rows[a] <= row:
                    alive[a] = False
        snapshot_shares[event_index] = shares
        snapshot_cash[event_index] = money[0]
        # Equity at each close until the next event: the holdings are fixed, the marks move.
        n_held = 0
        for a in range(n_assets):
            if shares[a] != 0:
                held_assets[n_held] = a
                n_held += 1
        segment_end = event_rows[event_index + 1] if event_index + 1 < n_events else n_sessions
        for session in range(row, segment_end):
            marked = 0.0
            for k in range(n_held):
                a = held_assets[k]
                marked += shares[a] * mark[first_row + session, columns[a]]
            equity[session] = money[0] + marked

    return (
        snapshot_shares,
        snapshot_cash,
        equity,
        traded_value,
        fills[: counts[0]],
        fill_rows[: counts[0]],
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
        np.empty(0),
        np.empty((0, 4)),
        np.empty((0, 2), dtype=np.int64),
        np.empty(0),
        np.zeros(2),
        np.zeros(3, dtype=np.int64),
        error,
    )
