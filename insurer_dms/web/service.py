"""Figures for the operations home: a handful of grouped counts, whatever the size of the fleet."""
import datetime as dt

from sqlalchemy import func, select

from ..catalogue.models import CatalogueEntry
from ..extensions import db
from ..fleet.models import Policy, Truck
from ..inventory.models import Device


def home_figures(today=None):
    """Counts for the home tiles; each is one aggregate query."""
    today = today or dt.date.today()
    usable = (
        (CatalogueEntry.valid_from <= today)
        & ((CatalogueEntry.valid_to.is_(None)) | (CatalogueEntry.valid_to >= today))
        & ((CatalogueEntry.withdrawn_on.is_(None)) | (CatalogueEntry.withdrawn_on > today))
    )
    devices = dict(db.session.execute(select(Device.status, func.count()).group_by(Device.status)).all())
    in_force = select(Policy.truck_id).where(Policy.start_date <= today, Policy.end_date >= today)
    return {
        "catalogue_usable": db.session.scalar(select(func.count()).select_from(CatalogueEntry).where(usable)),
        "devices_by_status": devices,
        "devices_total": sum(devices.values()),
        "trucks": db.session.scalar(select(func.count()).select_from(Truck)),
        "heavy_trucks": db.session.scalar(select(func.count()).select_from(Truck).where(Truck.is_heavy)),
        "heavy_insured_today": db.session.scalar(
            select(func.count()).select_from(Truck).where(Truck.is_heavy, Truck.id.in_(in_force))
        ),
        "policies_in_force": db.session.scalar(
            select(func.count()).select_from(Policy).where(Policy.start_date <= today, Policy.end_date >= today)
        ),
    }
