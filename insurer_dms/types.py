"""Column types shared by every domain: money, coefficients and UTC timestamps."""
import datetime as dt
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def Money():
    """CNY with two decimals, never float."""
    return Numeric(12, 2, asdecimal=True)


def Coefficient():
    """Pricing coefficients such as 0.8500."""
    return Numeric(8, 4, asdecimal=True)


def utcnow():
    return dt.datetime.now(dt.timezone.utc)


CENT = Decimal("0.01")
