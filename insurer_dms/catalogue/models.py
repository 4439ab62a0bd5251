import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..types import Money, UTCDateTime, utcnow

DEVICE_TYPES = ("all_in_one", "split")  # 一体机 / 分体机


class CatalogueEntry(db.Model):
    """One model on the provincially approved tender catalogue (中标设备目录)."""

    __tablename__ = "catalogue_entry"
    __table_args__ = (
        UniqueConstraint("tender_batch", "lot", "model_code", name="uq_catalogue_entry_batch_lot_model"),
        CheckConstraint("bid_unit_price > 0", name="bid_price_positive"),
        CheckConstraint("video_channels >= 0", name="channels_non_negative"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_batch: Mapped[str] = mapped_column(String(60))
    lot: Mapped[str] = mapped_column(String(30))
    manufacturer: Mapped[str] = mapped_column(String(200), index=True)
    model_code: Mapped[str] = mapped_column(String(100), index=True)
    device_type: Mapped[str] = mapped_column(String(20))
    adas: Mapped[bool] = mapped_column(Boolean, default=False)
    dsm: Mapped[bool] = mapped_column(Boolean, default=False)
    bsd: Mapped[bool] = mapped_column(Boolean, default=False)
    video_channels: Mapped[int] = mapped_column(Integer)
    jtt808: Mapped[bool] = mapped_column(Boolean, default=False)
    jtt1078: Mapped[bool] = mapped_column(Boolean, default=False)
    gd_active_safety: Mapped[bool] = mapped_column(Boolean, default=False)
    bid_unit_price: Mapped[Decimal] = mapped_column(Money())
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    withdrawn_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def usable_on(self, day):
        """Why this entry cannot be bought or installed on ``day``, or None if it can."""
        if self.withdrawn_on is not None and self.withdrawn_on <= day:
            return _l("withdrawn from the catalogue on %(day)s", day=self.withdrawn_on.isoformat())
        if day < self.valid_from:
            return _l("not valid before %(day)s", day=self.valid_from.isoformat())
        if self.valid_to is not None and day > self.valid_to:
            return _l("validity ended on %(day)s", day=self.valid_to.isoformat())
        return None

    @property
    def label(self):
        return f"{self.manufacturer} {self.model_code} ({self.tender_batch}/{self.lot})"
