"""Shared pieces of the command-line modules."""

from __future__ import annotations


class CommandError(Exception):
    """A user-facing failure of a command: printed without a traceback, exit code 2."""
