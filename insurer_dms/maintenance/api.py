"""REST API for maintenance tickets: operations see and steer all; a contractor works its own company's tickets."""
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from ..auth.access import CONTRACTOR, OPS, require
from ..installs import evidence_view
from ..installs.evidence_api import IMAGE_BODY, PhotoPresignSchema
from ..list_exports import page_or_xlsx, xlsx_doc
from ..paging import page_schema
from . import photos, service
from .schemas import (
    TicketArgs,
    TicketAssignSchema,
    TicketCloseSchema,
    TicketCostInSchema,
    TicketCostSchema,
    TicketCreateSchema,
    TicketDetailSchema,
    TicketEventSchema,
    TicketNoteSchema,
    TicketPhotoPresignInSchema,
    TicketPhotoRegisterInSchema,
    TicketPhotoSchema,
    TicketReasonSchema,
    TicketResolveSchema,
    TicketSchema,
)
from .lists import TICKETS

blp = Blueprint("maintenance_api", __name__, url_prefix="/api", description="Maintenance tickets and their SLAs")

ILLEGAL = "The move is not legal from the ticket's state (the message names both)."


@blp.route("/tickets")
class Tickets(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.arguments(TICKETS.args(TicketArgs), location="query")
    @blp.response(200, page_schema(TicketSchema, "TicketPage"))
    @xlsx_doc(blp)
    def get(self, args):
        """List tickets, newest first (a contractor sees only its own company's)."""
        return page_or_xlsx(TICKETS, args)

    @require(OPS, CONTRACTOR)
    @blp.arguments(TicketCreateSchema)
    @blp.response(201, TicketDetailSchema)
    @blp.alt_response(200, schema=TicketDetailSchema,
                      description="The truck already had an active ticket of this category: the report was added to it.")
    @blp.alt_response(409, description="A contractor reported on a truck whose active ticket of the category is not its company's.")
    def post(self, data):
        """Open a ticket about a truck's device (a contractor: only on a truck its company works on; assigned to it)."""
        ticket, opened = service.create_ticket(current_user, data)
        return ticket, 201 if opened else 200


@blp.route("/tickets/<int:ticket_id>")
class TicketItem(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.response(200, TicketDetailSchema)
    def get(self, ticket_id):
        """One ticket with its events, time in each state, photos and costs (another company's ticket: 404)."""
        return service.get_ticket_for(current_user, ticket_id)


@blp.route("/tickets/<int:ticket_id>/assign")
class Assign(MethodView):
    @require(OPS)
    @blp.arguments(TicketAssignSchema)
    @blp.response(200, TicketDetailSchema)
    @blp.alt_response(409, description=ILLEGAL)
    def post(self, data, ticket_id):
        """Assign an open ticket to a contractor company, or reassign an assigned one."""
        return service.assign(ticket_id, data["company_id"])


@blp.route("/tickets/<int:ticket_id>/unassign")
class Unassign(MethodView):
    @require(OPS)
    @blp.arguments(TicketReasonSchema)
    @blp.response(200, TicketDetailSchema)
    @blp.alt_response(409, description=ILLEGAL)
    def post(self, data, ticket_id):
        """Take an assigned ticket back from its company before work started (open again)."""
        return service.unassign(ticket_id, data["reason"])


@blp.route("/tickets/<int:ticket_id>/start")
class Start(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.response(200, TicketDetailSchema)
    @blp.alt_response(409, description=ILLEGAL)
    def post(self, ticket_id):
        """Start work on an assigned ticket (its company's technician, or operations)."""
        return service.start(current_user, ticket_id)


@blp.route("/tickets/<int:ticket_id>/resolve")
class Resolve(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.arguments(TicketResolveSchema)
    @blp.response(200, TicketDetailSchema)
    @blp.alt_response(409, description="Not in progress, or the device/SIM was taken by another change (nothing saved).")
    def post(self, data, ticket_id):
        """Resolve a ticket in progress: repaired on site, device replaced (serial from stock), SIM replaced, no fault found."""
        return service.resolve(current_user, ticket_id, data)


@blp.route("/tickets/<int:ticket_id>/close")
class Close(MethodView):
    @require(OPS)
    @blp.arguments(TicketCloseSchema)
    @blp.response(200, TicketDetailSchema)
    @blp.alt_response(409, description=ILLEGAL)
    def post(self, data, ticket_id):
        """Close a resolved ticket after checking the work (operations)."""
        return service.close(ticket_id, data["note"])


@blp.route("/tickets/<int:ticket_id>/reopen")
class Reopen(MethodView):
    @require(OPS)
    @blp.arguments(TicketReasonSchema)
    @blp.response(200, TicketDetailSchema)
    @blp.alt_response(409, description=ILLEGAL)
    def post(self, data, ticket_id):
        """Reopen a resolved or closed ticket (back to its company, else open); its history stays."""
        return service.reopen(ticket_id, data["reason"])


@blp.route("/tickets/<int:ticket_id>/cancel")
class Cancel(MethodView):
    @require(OPS)
    @blp.arguments(TicketReasonSchema)
    @blp.response(200, TicketDetailSchema)
    @blp.alt_response(409, description=ILLEGAL)
    def post(self, data, ticket_id):
        """Cancel a ticket that was not resolved, saying why."""
        return service.cancel(ticket_id, data["reason"])


@blp.route("/tickets/<int:ticket_id>/notes")
class Notes(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.arguments(TicketNoteSchema)
    @blp.response(201, TicketEventSchema)
    def post(self, data, ticket_id):
        """Add a note to the ticket's trail."""
        return service.add_note(current_user, ticket_id, data["note"])


@blp.route("/tickets/<int:ticket_id>/costs")
class Costs(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.arguments(TicketCostInSchema)
    @blp.response(201, TicketCostSchema)
    @blp.alt_response(409, description="A contractor records costs only while the ticket is in progress or resolved.")
    def post(self, data, ticket_id):
        """Record a cost line (labour, parts, travel); it goes to the cost ledger in the same transaction."""
        return service.add_cost(ticket_id, data["category"], data["amount"], data["description"], user=current_user)


@blp.route("/tickets/<int:ticket_id>/photos/presign")
class PhotoPresign(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.arguments(TicketPhotoPresignInSchema)
    @blp.response(200, PhotoPresignSchema)
    @blp.alt_response(409, description="The ticket is closed or cancelled.")
    def post(self, data, ticket_id):
        """Get a short-lived URL to PUT one photo (JPEG/PNG, size-limited) straight to object storage."""
        return photos.presign(current_user, ticket_id, data["content_type"], data["size"])


@blp.route("/tickets/<int:ticket_id>/photos")
class Photos(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.arguments(TicketPhotoRegisterInSchema)
    @blp.response(201, TicketPhotoSchema)
    @blp.alt_response(409, description="The ticket is closed or cancelled.")
    def post(self, data, ticket_id):
        """Register an uploaded photo: the object must exist and be a real JPEG/PNG within the size limit."""
        return photos.register(current_user, ticket_id, data["key"])


@blp.route("/tickets/<int:ticket_id>/photos/<int:photo_id>")
class PhotoFile(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.doc(responses={"200": {"description": "The photo, inline (local storage).", "content": {"image/jpeg": IMAGE_BODY, "image/png": IMAGE_BODY}},
                        "302": {"description": "To a short-lived presigned URL of the photo (S3)."}})
    @blp.alt_response(404, description="No such photo, or another company's ticket.")
    def get(self, ticket_id, photo_id):
        """View one ticket photo full size (the ticket's access: ops any, a contractor its company's)."""
        return evidence_view.photo_response(photos.photo_for(current_user, ticket_id, photo_id))


@blp.route("/tickets/<int:ticket_id>/photos/<int:photo_id>/thumbnail")
class PhotoThumbnail(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.doc(responses={"200": {"description": "The thumbnail, JPEG (local storage).", "content": {"image/jpeg": IMAGE_BODY}},
                        "302": {"description": "To a short-lived presigned URL of the thumbnail (S3)."}})
    @blp.alt_response(404, description="No such photo, or another company's ticket.")
    def get(self, ticket_id, photo_id):
        """The ticket photo's thumbnail (made once, stored beside it, EXIF orientation applied)."""
        return evidence_view.photo_response(photos.photo_for(current_user, ticket_id, photo_id), thumbnail=True)
