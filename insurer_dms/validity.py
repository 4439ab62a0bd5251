"""Validity periods (valid_from .. valid_to), shared by catalogue entries and data plans."""
import marshmallow as ma
from flask_babel import lazy_gettext as _l


def check_validity(data):
    """Schema-level check: a period ends on or after it starts (the error is on ``valid_to``)."""
    valid_from, valid_to = data.get("valid_from"), data.get("valid_to")
    if valid_from and valid_to and valid_to < valid_from:
        raise ma.ValidationError(_l("Must be on or after valid_from."), "valid_to")
