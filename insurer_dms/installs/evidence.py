"""Evidence photos for work orders: presigned uploads, registration, EXIF capture times. (Being built.)

Interface used by installs.service.close_order:
- ``missing_photos(order) -> list[str]``: the required photo kinds (PHOTO_KINDS) not registered on the order, or
  whose object is no longer in storage.
- ``flag_other_day_photos(order, install_day) -> list[str]``: marks each photo whose EXIF capture date (Asia/Shanghai)
  differs from ``install_day``; sets ``order.needs_review`` when any does; returns the flagged kinds.
"""
from .models import PHOTO_KINDS


def missing_photos(order):
    have = {p.kind for p in order.photos}
    return [k for k in PHOTO_KINDS if k not in have]


def flag_other_day_photos(order, install_day):
    return []
