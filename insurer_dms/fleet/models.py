"""Operators (transport companies), their trucks, and the insurer's policies on those trucks."""
import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..types import Coefficient, Money, UTCDateTime, utcnow

VEHICLE_TYPES = ("semi_trailer_tractor", "goods_vehicle", "special_purpose", "trailer", "other")
POLICY_KINDS = ("commercial", "compulsory")  # 商业险 / 交强险


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Operator(db.Model):
    """A road-transport operator (经营者) identified by its unified social credit code."""

    __tablename__ = "operator"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    trucks: Mapped[list["Truck"]] = relationship(back_populates="operator", order_by="Truck.plate")


class Truck(db.Model):
    """A vehicle registered to an operator."""

    __tablename__ = "truck"
    __table_args__ = (
        CheckConstraint("plate_colour IN (1, 2, 3, 4, 9)", name="plate_colour_code"),
        CheckConstraint(_in("vehicle_type", VEHICLE_TYPES), name="vehicle_type_known"),
        CheckConstraint("total_mass_kg > 0", name="total_mass_positive"),
        # the heavy-truck filter in lists and eligibility scans
        Index("ix_truck_vehicle_type_mass", "vehicle_type", "total_mass_kg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plate: Mapped[str] = mapped_column(String(16), unique=True)
    plate_colour: Mapped[int] = mapped_column(Integer)
    vin: Mapped[str] = mapped_column(String(17), unique=True)
    vehicle_type: Mapped[str] = mapped_column(String(30))
    total_mass_kg: Mapped[int] = mapped_column(Integer)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    operator: Mapped[Operator] = relationship(back_populates="trucks")
    policies: Mapped[list["Policy"]] = relationship(back_populates="truck", order_by="Policy.start_date.desc()")

    @hybrid_property
    def is_heavy(self):
        """Whether the programme covers this truck (the rule is fleet.service.heavy_rule)."""
        from .service import heavy_rule

        return heavy_rule(self.vehicle_type, self.total_mass_kg)

    @is_heavy.inplace.expression
    @classmethod
    def _is_heavy_expression(cls):
        from sqlalchemy import and_, or_

        from .service import heavy_rule

        return heavy_rule(cls.vehicle_type, cls.total_mass_kg, either=or_, both=and_)


class Policy(db.Model):
    """One of the insurer's motor policies on a truck (commercial or compulsory)."""

    __tablename__ = "policy"
    __table_args__ = (
        CheckConstraint(_in("kind", POLICY_KINDS), name="kind_known"),
        CheckConstraint("end_date > start_date", name="period_ordered"),
        CheckConstraint("premium > 0", name="premium_positive"),
        CheckConstraint("benchmark_premium > 0", name="benchmark_positive"),
        CheckConstraint(
            "ncd_coefficient > 0 AND autonomous_coefficient > 0 AND violation_coefficient > 0", name="coefficients_positive"
        ),
        CheckConstraint(
            "(sum_insured_vehicle_damage IS NULL OR sum_insured_vehicle_damage >= 0)"
            " AND (sum_insured_third_party IS NULL OR sum_insured_third_party >= 0)"
            " AND (sum_insured_driver_passenger IS NULL OR sum_insured_driver_passenger >= 0)",
            name="sums_insured_non_negative",
        ),
        # "which policy covers this truck on that day"
        Index("ix_policy_truck_period", "truck_id", "start_date", "end_date"),
        Index("ix_policy_period", "start_date", "end_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    truck_id: Mapped[int] = mapped_column(ForeignKey("truck.id"))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)  # the last day of cover (inclusive)
    premium: Mapped[Decimal] = mapped_column(Money())
    benchmark_premium: Mapped[Decimal] = mapped_column(Money())
    ncd_coefficient: Mapped[Decimal] = mapped_column(Coefficient())
    autonomous_coefficient: Mapped[Decimal] = mapped_column(Coefficient())
    violation_coefficient: Mapped[Decimal] = mapped_column(Coefficient(), default=Decimal("1.0000"))
    sum_insured_vehicle_damage: Mapped[Decimal | None] = mapped_column(Money())
    sum_insured_third_party: Mapped[Decimal | None] = mapped_column(Money())
    sum_insured_driver_passenger: Mapped[Decimal | None] = mapped_column(Money())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    truck: Mapped[Truck] = relationship(back_populates="policies")

    def in_force_on(self, day):
        return self.start_date <= day <= self.end_date
