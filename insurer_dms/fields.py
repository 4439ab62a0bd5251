"""The field types of every schema, with the bounds every input needs built in.

Schemas use these instead of ``marshmallow.fields`` (a test fails for any module that does not), so a new endpoint
is bounded for free:

- ``Integer`` fits a 32-bit column unless told otherwise, ``Id`` is 1..2^31-1: an id beyond the column is simply
  not found (a path id beyond it does not even match the route: ``IdConverter``);
- ``String`` refuses the NUL character and unpaired surrogates (PostgreSQL cannot store either);
- ``Date`` and ``DateTime`` lie between 1990-01-01 and 2100-12-31; a datetime without a zone is Beijing time;
- ``Money`` is CNY with at most two decimals within a Numeric(12, 2) column, positive unless the domain says
  otherwise; ``Decimal`` the other exact numbers. Both travel as strings (exact, never a binary float) and are
  documented as strings with a pattern and their bounds.
"""
import datetime as dt
import decimal
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow.fields import Boolean, Dict, Field, Function, List, Method, Nested, Raw
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter

__all__ = ["Boolean", "Dict", "Field", "Function", "List", "Method", "Nested", "Raw",  # marshmallow's, unchanged
           "Integer", "Id", "String", "Email", "Date", "DateTime", "AwareDateTime", "Decimal", "Money", "SignedMoney"]

INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # PostgreSQL integer
BIGINT_MAX = 2**63 - 1
EARLIEST, LATEST = dt.date(1990, 1, 1), dt.date(2100, 12, 31)
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
CENT = decimal.Decimal("0.01")
MONEY_MAX = decimal.Decimal("9999999999.99")  # Numeric(12, 2)
COEFFICIENT_MAX = decimal.Decimal("9999.9999")  # Numeric(8, 4)


def _with_range(kwargs, minimum, maximum):
    """``kwargs['validate']`` with Range(minimum, maximum) added, unless the caller's own Range bounds both ends."""
    validate = kwargs.pop("validate", None)
    validators = [] if validate is None else list(validate) if isinstance(validate, (list, tuple)) else [validate]
    ranges = [v for v in validators if isinstance(v, ma.validate.Range)]
    if not any(r.min is not None and r.max is not None for r in ranges):
        validators.append(ma.validate.Range(min=minimum, max=maximum))
    return validators


# ---- whole numbers -------------------------------------------------------------------------------------------


class Integer(ma.fields.Integer):
    """A whole number that fits a 32-bit column (``maximum=BIGINT_MAX`` for a 64-bit one)."""

    def __init__(self, *, minimum=INT_MIN, maximum=INT_MAX, **kwargs):
        super().__init__(validate=_with_range(kwargs, minimum, maximum), **kwargs)


class Id(Integer):
    """A row id: 1 to 2^31-1. A larger one names no row."""

    def __init__(self, **kwargs):
        super().__init__(minimum=1, maximum=INT_MAX, **kwargs)


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: 1 to 2^31-1, so a larger id does not match (404) instead of overflowing."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


class TextConverter(UnicodeConverter):
    """``<name>`` / ``<string:name>`` without the NUL character."""

    def __init__(self, map, minlength=1, maxlength=None, length=None):
        super().__init__(map, minlength, maxlength, length)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]")


class TextPathConverter(PathConverter):
    """``<path:name>`` without the NUL character."""

    regex = "[^/\\x00][^\\x00]*?"


CONVERTERS = {"int": IdConverter, "default": TextConverter, "string": TextConverter, "path": TextPathConverter}


# ---- text ----------------------------------------------------------------------------------------------------

TEXT_ERRORS = {
    "nul": _l("Text may not contain the NUL character."),
    "surrogate": _l("Text may not contain unpaired surrogate characters."),
}


def check_text(value):
    """The reason ``value`` cannot be stored as text, or None."""
    if "\x00" in value:
        return "nul"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "surrogate"
    return None


class String(ma.fields.String):
    """Text a database can store: no NUL, no unpaired surrogate."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        problem = check_text(value)
        if problem:
            raise ma.ValidationError(TEXT_ERRORS[problem])
        return value


class Email(String, ma.fields.Email):
    """An e-mail address (stored text, so the same refusals first)."""


# ---- dates and times -----------------------------------------------------------------------------------------

WINDOW = {"x-minimum": EARLIEST.isoformat(), "x-maximum": LATEST.isoformat()}


def within_window(day):
    """``day`` if it lies between 1990-01-01 and 2100-12-31, else a validation error."""
    if not EARLIEST <= day <= LATEST:
        raise ma.ValidationError(_l("Must be between %(earliest)s and %(latest)s.", earliest=EARLIEST.isoformat(),
                                    latest=LATEST.isoformat()))
    return day


class Date(ma.fields.Date):
    """A day between 1990-01-01 and 2100-12-31."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {**WINDOW, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return within_window(super()._deserialize(value, attr, data, **kwargs))


class DateTime(ma.fields.AwareDateTime):
    """A moment between 1990-01-01 and 2100-12-31; without a zone it is Asia/Shanghai local time.

    The window is checked on the value as written, before any conversion (year 1 at +08:00 has no UTC).
    """

    def __init__(self, *, default_timezone=LOCAL_TZ, **kwargs):
        kwargs["metadata"] = {**WINDOW, **kwargs.get("metadata", {})}
        super().__init__(default_timezone=default_timezone, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        moment = ma.fields.DateTime._deserialize(self, value, attr, data, **kwargs)
        within_window(moment.date())
        if moment.tzinfo is None or moment.utcoffset() is None:
            moment = moment.replace(tzinfo=self.default_timezone)
        return moment


AwareDateTime = DateTime


# ---- exact numbers -------------------------------------------------------------------------------------------


class Decimal(ma.fields.Decimal):
    """An exact number with at most ``places`` decimals, within [minimum, maximum]; a string in JSON.

    More decimals than ``places`` are refused, never rounded, unless the class says ``rounds = True``.
    """

    rounds = False

    def __init__(self, places, *, minimum, maximum, **kwargs):
        kwargs.setdefault("as_string", True)
        step = decimal.Decimal(1).scaleb(-places)
        minimum = decimal.Decimal(minimum).quantize(step, rounding=decimal.ROUND_CEILING)
        maximum = decimal.Decimal(maximum).quantize(step, rounding=decimal.ROUND_FLOOR)
        super().__init__(places=places, validate=_with_range(kwargs, minimum, maximum), **kwargs)

    def _validated(self, value):
        if not isinstance(value, (bool, decimal.Decimal)):
            try:
                value = decimal.Decimal(str(value).strip())
            except decimal.InvalidOperation:
                raise self.make_error("invalid", input=value) from None
        if isinstance(value, decimal.Decimal) and value.is_finite():
            low, high = self.bounds()
            if value.adjusted() > 20:  # far beyond any column: say so before quantize() runs out of precision
                raise ma.ValidationError(_l("Must be between %(minimum)s and %(maximum)s.", minimum=low, maximum=high))
            if not self.rounds and value != value.quantize(self.places):
                raise self.extra_places_error()
        return super()._validated(value)

    def extra_places_error(self):
        return ma.ValidationError(_l("At most %(places)s decimal places.", places=-self.places.as_tuple().exponent))

    def openapi(self):
        """The property apispec documents: a string with a pattern, and the bounds as numbers."""
        digits = -self.places.as_tuple().exponent
        sign = "-?" if self.bounds()[0] < 0 else ""
        pattern = f"^{sign}[0-9]+(\\.[0-9]{{1,{digits}}})?$" if digits else f"^{sign}[0-9]+$"
        low, high = self.bounds()
        return {"type": "string", "format": "decimal", "pattern": pattern,
                "minimum": _number(low), "maximum": _number(high)}

    def bounds(self):
        ranges = [v for v in self.validators if isinstance(v, ma.validate.Range)]
        return max(r.min for r in ranges if r.min is not None), min(r.max for r in ranges if r.max is not None)


def _number(value):
    return int(value) if value == value.to_integral_value() else float(value)


class Money(Decimal):
    """CNY, at most two decimals (fen), within a Numeric(12, 2) column; from 0.01 unless ``minimum`` says otherwise.

    ``minimum=0`` where nothing may be owed, ``minimum=-MONEY_MAX`` where the domain has negative amounts
    (corrections, reversing entries).
    """

    def __init__(self, *, minimum=CENT, maximum=MONEY_MAX, **kwargs):
        super().__init__(2, minimum=minimum, maximum=maximum, **kwargs)

    def extra_places_error(self):
        return ma.ValidationError(_l("At most two decimal places (CNY fen)."))


class SignedMoney(Money):
    """CNY that may be negative: corrections, reversing entries, differences, premium changes."""

    def __init__(self, **kwargs):
        super().__init__(minimum=-MONEY_MAX, **kwargs)


def decimal_openapi(self, field, ret, **kwargs):
    """apispec attribute function: our Decimal fields as documented strings (apispec would say number)."""
    return field.openapi() if isinstance(field, Decimal) else {}
