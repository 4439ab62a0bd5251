"""Figures for the operations home."""


def home_figures():
    """Counts shown on the operations home; each domain adds its own."""
    from sqlalchemy import func, select

    from ..extensions import db

    figures = {}
    for label, model_path in (
        ("catalogue_entries", "insurer_dms.catalogue.models.CatalogueEntry"),
        ("devices", "insurer_dms.inventory.models.Device"),
        ("trucks", "insurer_dms.fleet.models.Truck"),
        ("policies", "insurer_dms.fleet.models.Policy"),
    ):
        module, _, name = model_path.rpartition(".")
        import importlib

        try:
            model = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
        figures[label] = db.session.scalar(select(func.count()).select_from(model))
    return figures
