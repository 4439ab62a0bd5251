"""Real-world identifiers of operators and trucks: validate, normalise, and generate valid ones.

Each validator takes what a user typed and returns the normalised value, or raises ValueError with a
message a user can act on. The marshmallow fields at the bottom wrap them for schemas and imports.
"""
import random
import re
import unicodedata

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from .. import fields

# ---------------------------------------------------------------- plate numbers (GA 36-2018)

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_ALNUM = "[A-HJ-NP-Z0-9]"  # plates never use I or O (too close to 1 and 0)
_PLATE_BODIES = (
    re.compile(f"^{_ALNUM}{{5}}$"),  # ordinary: 粤U12345
    re.compile(f"^{_ALNUM}{{4}}挂$"),  # trailer: 粤U1234挂
    re.compile(f"^[DF]{_ALNUM}[0-9]{{4}}$"),  # small new-energy: 粤UD12345 (D electric, F other)
    re.compile("^[0-9]{5}[DF]$"),  # large new-energy: 粤U12345D
)


def plate_number(value):
    """A Chinese motor-vehicle plate number, e.g. 粤U12345, 粤UD12345, 粤U1234挂."""
    text = unicodedata.normalize("NFKC", str(value or "")).upper()
    text = re.sub(r"[\s·•.\-]", "", text)
    if not text:
        raise ValueError(_l("Plate number is required."))
    if text[0] not in PROVINCES:
        raise ValueError(_l("Plate must start with a province character such as 粤, got %(char)r.", char=text[0]))
    if "I" in text or "O" in text:
        raise ValueError(_l("Plates never use the letters I or O."))
    if len(text) < 2 or not ("A" <= text[1] <= "Z"):
        raise ValueError(_l("The second character must be the city letter (粤U for Chaozhou)."))
    body = text[2:]
    if not any(p.match(body) for p in _PLATE_BODIES):
        raise ValueError(_l("After %(start)s expect 5 letters/digits (6 for new-energy plates with D/F; trailers end in 挂), "
                            "got %(body)r.", start=text[:2], body=body))
    return text


# ---------------------------------------------------------------- plate colour (JT/T 808 code)

PLATE_COLOURS = {1: "blue", 2: "yellow", 3: "black", 4: "white", 9: "other"}
_COLOUR_NAMES = {
    "blue": 1, "蓝": 1, "蓝色": 1,
    "yellow": 2, "黄": 2, "黄色": 2,
    "black": 3, "黑": 3, "黑色": 3,
    "white": 4, "白": 4, "白色": 4,
    "other": 9, "其他": 9, "其它": 9,
}


def plate_colour(value):
    """The JT/T 808 plate colour code (1 blue, 2 yellow, 3 black, 4 white, 9 other) from a code or name."""
    text = str(value if value is not None else "").strip().lower()
    if text in _COLOUR_NAMES:
        return _COLOUR_NAMES[text]
    try:
        code = int(text)
    except ValueError:
        raise ValueError(_l("Plate colour must be a code 1, 2, 3, 4 or 9 (or blue/yellow/black/white/other), got %(value)r.",
                            value=value))
    if code not in PLATE_COLOURS:
        raise ValueError(_l("Plate colour code must be 1 blue, 2 yellow, 3 black, 4 white or 9 other, got %(code)s.", code=code))
    return code


# ---------------------------------------------------------------- VIN (ISO 3779; GB 16735)

_VIN_VALUES = {str(d): d for d in range(10)}
_VIN_VALUES.update(dict(zip("ABCDEFGH", range(1, 9))))
_VIN_VALUES.update(dict(zip("JKLMN", range(1, 6))))
_VIN_VALUES.update({"P": 7, "R": 9})
_VIN_VALUES.update(dict(zip("STUVWXYZ", range(2, 10))))
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def vin_check_digit(vin):
    """The check character for position 9 of a 17-character VIN (the current position 9 is ignored)."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def vin(value):
    """A vehicle identification number: 17 characters, no I/O/Q, check digit at position 9."""
    text = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", str(value or "")).upper())
    if not text:
        raise ValueError(_l("VIN is required."))
    if len(text) != 17:
        raise ValueError(_l("VIN must be 17 characters, got %(count)s.", count=len(text)))
    banned = sorted(set(text) & set("IOQ"))
    if banned:
        raise ValueError(_l("VIN cannot contain the letters I, O or Q (found %(letters)s).", letters=", ".join(banned)))
    bad = sorted(set(text) - set(VIN_ALPHABET))
    if bad:
        raise ValueError(_l("VIN may only contain letters and digits (found %(chars)r).", chars="".join(bad)))
    expected = vin_check_digit(text)
    if text[8] != expected:
        raise ValueError(_l("VIN check digit is %(digit)s, expected %(expected)s.", digit=text[8], expected=expected))
    return text


def make_vin(rng=None, wmi="LZZ"):
    """A random VIN with a correct check digit (for demo data and tests). LZZ: a Chinese truck maker's WMI."""
    rng = rng or random.Random()
    year = rng.choice("ABCDEFGHJKLMNPRSTVWXY123456789")  # ISO 3779 year codes (no U, Z or 0)
    body = wmi + "".join(rng.choice(VIN_ALPHABET) for _ in range(5)) + "0" + year
    body += rng.choice(VIN_ALPHABET) + "".join(rng.choice("0123456789") for _ in range(6))
    return body[:8] + vin_check_digit(body) + body[9:]


# ---------------------------------------------------------------- unified social credit code (GB 32100-2015)

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_check_character(body17):
    """The 18th (check) character for the first 17 characters of a credit code."""
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(body17, _CREDIT_WEIGHTS))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code(value):
    """A unified social credit code: 18 characters, division code at 3-8, check character last."""
    text = re.sub(r"\s", "", unicodedata.normalize("NFKC", str(value or "")).upper())
    if not text:
        raise ValueError(_l("Unified social credit code is required."))
    if len(text) != 18:
        raise ValueError(_l("Unified social credit code must be 18 characters, got %(count)s.", count=len(text)))
    for position, char in enumerate(text, start=1):
        if char not in CREDIT_ALPHABET:
            raise ValueError(_l("Character %(char)r at position %(position)s is not allowed (letters I, O, S, V, Z are never used).",
                                    char=char, position=position))
    if not text[2:8].isdigit():
        raise ValueError(_l("Positions 3-8 must be the 6-digit administrative division code."))
    expected = credit_check_character(text[:17])
    if text[17] != expected:
        raise ValueError(_l("Check character is %(char)s, expected %(expected)s.", char=text[17], expected=expected))
    return text


def _organisation_code(rng):
    """A 9-character organisation code with its GB 11714 check character."""
    body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2)))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def make_credit_code(rng=None, division="445102", registrar="9", kind="1"):
    """A random valid credit code (registrar 9 = market regulation, kind 1 = company)."""
    rng = rng or random.Random()
    body = registrar + kind + division + _organisation_code(rng)
    return body + credit_check_character(body)


# ---------------------------------------------------------------- administrative division codes (GB/T 2260)

# Province-level prefixes of GB/T 2260.
_PROVINCE_PREFIXES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82",
}
# Chaozhou; Fengxi is a functional district managed under Xiangqiao's code (DOMAIN.md).
CHAOZHOU_DIVISIONS = {
    "445100": "Chaozhou (city)",
    "445102": "Xiangqiao (incl. Fengxi)",
    "445103": "Chao'an",
    "445122": "Raoping",
}


def county_code(value):
    """A 6-digit administrative division code, e.g. 445102 (Xiangqiao, Chaozhou)."""
    text = str(value if value is not None else "").strip()
    if text.endswith(".0"):  # a code typed into a spreadsheet number cell
        text = text[:-2]
    if not re.fullmatch(r"\d{6}", text):
        raise ValueError(_l("Division code must be 6 digits (e.g. 445102), got %(value)r.", value=value))
    if text[:2] not in _PROVINCE_PREFIXES:
        raise ValueError(_l("Division code %(code)s does not start with a province code.", code=text))
    return text


def county_name(code):
    """A readable name for a division code (Chaozhou's are known; others shown as the code)."""
    return CHAOZHOU_DIVISIONS.get(code, code)


# ---------------------------------------------------------------- marshmallow fields and validators


def as_validator(parse):
    """A marshmallow validator that raises ValidationError where ``parse`` raises ValueError."""

    def validate(value):
        try:
            parse(value)
        except ValueError as err:
            raise ma.ValidationError(str(err))
        return True

    return validate


validate_plate = as_validator(plate_number)
validate_plate_colour = as_validator(plate_colour)
validate_vin = as_validator(vin)
validate_credit_code = as_validator(credit_code)
validate_county_code = as_validator(county_code)


class _Normalised(fields.String):
    """A string field that validates and normalises with a parse function."""

    parse = None

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        elif isinstance(value, float):  # a spreadsheet's number cell
            value = str(int(value)) if value.is_integer() else str(value)
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return type(self).parse(text)
        except ValueError as err:
            raise ma.ValidationError(str(err))


class PlateField(_Normalised):
    parse = staticmethod(plate_number)


class VinField(_Normalised):
    parse = staticmethod(vin)


class CreditCodeField(_Normalised):
    parse = staticmethod(credit_code)


class CountyCodeField(_Normalised):
    parse = staticmethod(county_code)


class PlateColourField(fields.Integer):
    """The JT/T 808 plate colour code; accepts the names too (黄色, yellow)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return plate_colour(value)
        except ValueError as err:
            raise ma.ValidationError(str(err))
