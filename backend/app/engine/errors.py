"""The engine's user-facing error."""

from __future__ import annotations


class BacktestInputError(ValueError):
    """Bad backtest input (parameters, files, data). The message is a readable reason that
    names the problem, e.g. ``"symbols not in the data: FOO, BAR"``; the HTTP API turns it
    into a 422 and the CLI into a one-line error."""
