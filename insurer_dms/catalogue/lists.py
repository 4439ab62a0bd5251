"""The tender catalogue list: its sortable columns and its "Export Excel" (one definition, for the page and the API)."""
from flask_babel import lazy_gettext as _l

from ..labels import device_type_labels, yes_no_labels
from ..paging import Column, ListSpec
from . import service
from .models import CatalogueEntry

ENTRIES = ListSpec(
    "catalogue", service.entries_query, CatalogueEntry.id,
    {"tender_batch": CatalogueEntry.tender_batch, "lot": CatalogueEntry.lot, "manufacturer": CatalogueEntry.manufacturer,
     "model_code": CatalogueEntry.model_code, "device_type": CatalogueEntry.device_type,
     "video_channels": CatalogueEntry.video_channels, "bid_unit_price": CatalogueEntry.bid_unit_price,
     "valid_from": CatalogueEntry.valid_from, "withdrawn_on": CatalogueEntry.withdrawn_on},
    [
        Column(_l("Tender batch"), lambda e: e.tender_batch),
        Column(_l("Lot"), lambda e: e.lot),
        Column(_l("Manufacturer"), lambda e: e.manufacturer),
        Column(_l("Model"), lambda e: e.model_code),
        Column(_l("Type"), lambda e: e.device_type, labels=device_type_labels),
        Column("ADAS", lambda e: bool(e.adas), labels=yes_no_labels),
        Column("DSM", lambda e: bool(e.dsm), labels=yes_no_labels),
        Column("BSD", lambda e: bool(e.bsd), labels=yes_no_labels),
        Column(_l("Channels"), lambda e: e.video_channels),
        Column(_l("Bid unit price (CNY)"), lambda e: e.bid_unit_price),
        Column(_l("Valid from"), lambda e: e.valid_from),
        Column(_l("Valid to"), lambda e: e.valid_to),
        Column(_l("Withdrawn on"), lambda e: e.withdrawn_on),
    ],
    _l("Approved catalogue"),
)
