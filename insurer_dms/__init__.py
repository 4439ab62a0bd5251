"""insurer_dms: the insurer's system for the heavy-truck video-monitoring programme."""
from pathlib import Path

from flask import Flask, has_request_context, request, session
from flask_login import current_user

# First of all: marshmallow's messages become ids before any field or validator is built (they copy them then).
from . import validation_messages  # noqa: F401

# isort: split
from . import config as config_module
from .errors import register_error_handlers
from .extensions import api, babel, csrf, db, limiter, login, migrate
from .fields import CONVERTERS

# Domain packages, each with api.py (REST, blueprint ``blp``) and views.py (pages, blueprint ``bp``).
DOMAINS = ("auth", "catalogue", "inventory", "fleet", "sims", "ledger", "installs", "maintenance", "audits")
# Further REST modules of a domain, each with its own blueprint ``blp``.
EXTRA_APIS = {"installs": ("access_api", "evidence_api"), "sims": ("statement_api", "reconciliation_api"),
              "maintenance": ("road_check_api", "sla_api"), "audits": ("query_api",)}
# Further page modules of a domain, each with its own blueprint ``bp``.
EXTRA_VIEWS = {"maintenance": ("road_check_views", "sla_views"), "audits": ("reviewer_views",)}


def _locale():
    if not has_request_context():
        return None  # a job or a command: the default locale
    if current_user and current_user.is_authenticated and current_user.locale:
        return current_user.locale
    if session.get("locale"):
        return session["locale"]
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"], default="en")
    return "zh_CN" if best.startswith("zh") else "en"


def nav_groups(role):
    """The top bar's links for ``role``, in groups: [(group label, [(endpoint, label, element id)])].

    Only links whose page exists are kept, and empty groups dropped.
    """
    from flask import current_app
    from flask_babel import gettext as _

    if role == "ops":
        wanted = [
            (_("Procurement"), [("catalogue.list_entries", _("Catalogue")),
                                ("inventory.list_purchase_orders", _("Purchase orders")),
                                ("inventory.list_devices", _("Devices"))]),
            (_("Fleet"), [("fleet.list_trucks", _("Trucks")), ("fleet.list_policies", _("Policies")),
                          ("fleet.import_page", _("Policy import"))]),
            (_("Installation"), [("installs.list_work_orders", _("Work orders")),
                                 ("installs.progress_page", _("Progress")),
                                 ("installs.online_status_page", _("Online status"))]),
            (_("SIM cards"), [("sims.list_sims", _("SIMs")), ("sims.list_plans", _("Data plans")),
                              ("sims.list_statements", _("Statements"))]),
            (_("Maintenance"), [("maintenance.list_tickets", _("Tickets")), ("maintenance_sla.sla_page", _("SLA")),
                                ("maintenance_road_checks.road_checks_page", _("Road checks"))]),
            (_("Audit and costs"), [("audits.list_audits", _("Audits")), ("audits_reviewer.ops_queries", _("Queries")),
                                    ("ledger.costs_page", _("Costs"))]),
        ]
    elif role == "contractor":
        wanted = [("", [("installs.my_orders", _("My orders"), "nav-my-orders"),
                        ("maintenance.my_tickets", _("My tickets"), "nav-my-tickets")])]
    elif role == "reviewer":
        wanted = [("", [("audits_reviewer.portal", _("Audit reports"), "nav-reports"),
                        ("audits_reviewer.queries", _("My queries"), "nav-queries")])]
    else:
        wanted = []
    groups = []
    for group, links in wanted:
        kept = [(link[0], link[1], link[2] if len(link) > 2 else None) for link in links
                if link[0] in current_app.view_functions]
        if kept:
            groups.append((group, kept))
    return groups


def create_app(overrides=None):
    """Build the application: settings from the environment, then ``overrides`` (tests)."""
    app = Flask(__name__, instance_path=str(config_module.INSTANCE_DIR))
    app.url_map.converters.update(CONVERTERS)  # bounded ids and NUL-free names in every route, before any is added
    app.config.update(config_module.from_environment())
    app.config.update(overrides or {})
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    with app.app_context():
        from .extensions import enable_sqlite_foreign_keys

        enable_sqlite_foreign_keys(db.engine)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"), render_as_batch=True, compare_type=True)
    login.init_app(app)
    csrf.init_app(app)
    # Login limits count in Redis when the app has one (shared by every worker process), else in memory.
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_locale, default_translation_directories="translations")
    api.init_app(
        app,
        spec_kwargs={
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
    )
    register_error_handlers(app)

    from .storage import make_storage

    app.extensions["insurer_dms.storage"] = make_storage(app.config)

    from . import activity  # noqa: F401  (registers the append-only guard)
    from .auth.access import protect_session_requests

    from .request_bounds import check_request

    app.before_request(protect_session_requests)
    app.before_request(check_request)
    from .security import add_security_headers

    app.after_request(add_security_headers)

    import importlib

    for name in DOMAINS:
        importlib.import_module(f".{name}.models", __name__)  # every table known to db.metadata
        api.register_blueprint(importlib.import_module(f".{name}.api", __name__).blp)
        for extra in EXTRA_APIS.get(name, ()):
            api.register_blueprint(importlib.import_module(f".{name}.{extra}", __name__).blp)
        app.register_blueprint(importlib.import_module(f".{name}.views", __name__).bp)
        for extra in EXTRA_VIEWS.get(name, ()):
            app.register_blueprint(importlib.import_module(f".{name}.{extra}", __name__).bp)
    from .web import views as web_views

    app.register_blueprint(web_views.bp)
    from . import api_docs

    app.register_blueprint(api_docs.bp)

    @app.context_processor
    def _layout():
        from flask_babel import get_locale

        from .labels import label

        return {"nav_groups": nav_groups, "get_locale": get_locale, "label": label}

    from . import activity_text, times

    app.add_template_filter(times.local_time, "local_time")  # every time shown: Asia/Shanghai, one format
    app.add_template_filter(times.local_date, "local_date")
    app.add_template_global(activity_text.change_log, "change_log")  # history tables in words
    app.add_template_global(activity_text.ticket_event_details, "ticket_event_details")
    app.add_template_filter(activity_text.actor_text, "actor")
    from .paging import PAGE_SIZES

    app.jinja_env.globals["page_sizes"] = PAGE_SIZES  # the pager's choices (templates/_lists.html)

    from .cli import register_cli

    register_cli(app)
    return app
