"""Trading sessions from the real XNYS calendar (exchange_calendars, imported lazily because
importing it takes about a second)."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

CALENDAR_NAME = "XNYS"
# A fixed span so the answer does not depend on today's date (exchange_calendars' default
# end is "one year from now").
CALENDAR_START = "1990-01-02"
CALENDAR_END = "2030-12-31"


@lru_cache(maxsize=1)
def _xnys_sessions() -> pd.DatetimeIndex:
    import exchange_calendars

    calendar = exchange_calendars.get_calendar(
        CALENDAR_NAME, start=CALENDAR_START, end=CALENDAR_END
    )
    return pd.DatetimeIndex(calendar.sessions).tz_localize(None).as_unit("ns")


def xnys_sessions(start: str | pd.Timestamp, end: str | pd.Timestamp) -> pd.DatetimeIndex:
    """XNYS sessions with ``start <= session <= end`` (naive midnight timestamps)."""
    sessions = _xnys_sessions()
    lo = sessions.searchsorted(pd.Timestamp(start), side="left")
    hi = sessions.searchsorted(pd.Timestamp(end), side="right")
    return sessions[lo:hi]
