"""Swagger UI at /api/docs from the app's own files (the swagger-ui-bundle package), never a CDN.

flask-smorest serves the page from its template ``swagger_ui.html``; ours in insurer_dms/templates takes its place
(the app's templates come first) and loads its configuration from static/swagger-init.js, so the page passes the
CSP (no inline script). OPENAPI_SWAGGER_UI_URL points at the files served here.
"""
from flask import Blueprint
from swagger_ui_bundle import swagger_ui_path

# Only the static route: its endpoint ``swagger_ui.static`` is exempt from roles like the app's own static files.
bp = Blueprint("swagger_ui", __name__, static_folder=str(swagger_ui_path), static_url_path="/api/docs/static")
