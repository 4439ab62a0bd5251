"""Times as the users read them: Asia/Shanghai, one format, formatted on the server (templates: ``|local_time``).

Stored times are UTC (``types.UTCDateTime``); activity entries keep them as ISO text. Every page shows them through
``local_time`` ("2026-12-08 07:30") and days through ``local_date`` ("2026-12-08"), so a list, a detail page and a
change log show the same moment the same way, whatever the browser.
"""
import datetime as dt
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M"


def _moment(value):
    """A datetime from a datetime or its ISO text (a naive one is UTC, as stored); None for anything else."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def local_time(value):
    """``value`` (a UTC datetime or ISO text) in Chaozhou's time, "2026-12-08 07:30"; "" for None; a date as a date."""
    if value is None or value == "":
        return ""
    moment = _moment(value)
    if moment is None:
        return local_date(value)
    return moment.astimezone(LOCAL_TZ).strftime(TIME_FORMAT)


def local_date(value):
    """The local calendar day of ``value`` (a date, a datetime or ISO text), "2026-12-08"; "" for None."""
    if value is None or value == "":
        return ""
    moment = _moment(value)
    if moment is not None:
        return moment.astimezone(LOCAL_TZ).date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            return value
    return str(value)
