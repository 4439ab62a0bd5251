"""REST API for the approved tender catalogue (operations staff only)."""
from flask.views import MethodView
from flask_smorest import Blueprint

from .. import activity
from ..auth.access import OPS, require
from ..imports import read_upload
from ..list_exports import page_or_xlsx, xlsx_doc
from ..paging import page_schema
from . import service
from .lists import ENTRIES
from .schemas import (
    CatalogueEntryPatchSchema,
    CatalogueEntrySchema,
    CatalogueHistorySchema,
    CatalogueImportFileSchema,
    CatalogueImportResultSchema,
    CatalogueListArgs,
    CatalogueWithdrawSchema,
)

blp = Blueprint("catalogue_api", __name__, url_prefix="/api", description="The approved tender catalogue (中标设备目录)")


@blp.route("/catalogue")
class Entries(MethodView):
    @require(OPS)
    @blp.arguments(ENTRIES.args(CatalogueListArgs), location="query")
    @blp.response(200, page_schema(CatalogueEntrySchema, "CatalogueEntryPage"))
    @xlsx_doc(blp)
    def get(self, args):
        """List catalogue entries, with search and filters; sortable, or as XLSX."""
        return page_or_xlsx(ENTRIES, args)

    @require(OPS)
    @blp.arguments(CatalogueEntrySchema)
    @blp.response(201, CatalogueEntrySchema)
    @blp.alt_response(409, description="An entry with the same tender batch, lot and model code exists.")
    def post(self, data):
        """Add an entry to the catalogue."""
        return service.create_entry(data)


@blp.route("/catalogue/<int:entry_id>")
class Entry(MethodView):
    @require(OPS)
    @blp.response(200, CatalogueEntrySchema)
    def get(self, entry_id):
        """One catalogue entry."""
        return service.get_entry(entry_id)

    @require(OPS)
    @blp.arguments(CatalogueEntryPatchSchema)
    @blp.response(200, CatalogueEntrySchema)
    @blp.alt_response(409, description="Price or start of validity of a referenced entry, or a duplicate key.")
    def patch(self, data, entry_id):
        """Change some fields of an entry."""
        return service.update_entry(entry_id, data)

    @require(OPS)
    @blp.response(204)
    @blp.alt_response(409, description="The entry is referenced; withdraw it instead.")
    def delete(self, entry_id):
        """Delete an entry that nothing refers to."""
        service.delete_entry(entry_id)


@blp.route("/catalogue/<int:entry_id>/withdraw")
class Withdraw(MethodView):
    @require(OPS)
    @blp.arguments(CatalogueWithdrawSchema)
    @blp.response(200, CatalogueEntrySchema)
    @blp.alt_response(409, description="Already withdrawn.")
    def post(self, data, entry_id):
        """Withdraw an entry from the catalogue as of a date."""
        return service.withdraw_entry(entry_id, data["withdrawn_on"])


@blp.route("/catalogue/<int:entry_id>/history")
class History(MethodView):
    @require(OPS)
    @blp.response(200, CatalogueHistorySchema(many=True))
    def get(self, entry_id):
        """Everything that happened to an entry, oldest first."""
        service.get_entry(entry_id)
        return activity.history(service.ENTITY, entry_id)


@blp.route("/catalogue/import")
class Import(MethodView):
    @require(OPS)
    @blp.arguments(CatalogueImportFileSchema, location="files")
    @blp.response(201, CatalogueImportResultSchema)
    @blp.alt_response(422, description="Bad rows: nothing was stored; ``rows`` lists each row, column and reason.")
    def post(self, files):
        """Import entries from a CSV or XLSX file (all or nothing; English or Chinese headers)."""
        data, filename = read_upload(files["file"])
        return service.import_entries(data, filename)
