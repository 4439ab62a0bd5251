"""The Luhn check digit (ISO/IEC 7812), used by IMEIs and ICCIDs."""


def _sum(digits, double_first):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == (0 if double_first else 1):
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total


def is_valid(digits):
    """True when the last digit is the Luhn check digit of the others."""
    return digits.isdigit() and len(digits) > 1 and _sum(digits, double_first=False) % 10 == 0


def check_digit(body):
    """The digit to append to ``body`` so that the whole number passes the Luhn check."""
    return str((10 - _sum(body, double_first=True) % 10) % 10)
