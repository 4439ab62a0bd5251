"""Paging and the list envelope shared by every list endpoint and page."""
import marshmallow as ma
from flask import current_app
from sqlalchemy import func, select

from . import fields
from .extensions import db


PAGE_MAX = 1_000_000  # far beyond any list, and (PAGE_MAX - 1) x page size still fits an integer


class PageArgs(ma.Schema):
    page = fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=PAGE_MAX))
    page_size = fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))


def page_schema(item_schema, name):
    """A schema ``{items, total, page, page_size, pages}`` around ``item_schema``."""
    return ma.Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "total": fields.Integer(),
            "page": fields.Integer(),
            "page_size": fields.Integer(),
            "pages": fields.Integer(),
        },
        name=name,
    )


def paginate(stmt, page=1, page_size=50):
    """Run ``stmt`` for one page; returns the envelope dict."""
    page_size = min(page_size, current_app.config["PAGE_SIZE_MAX"])
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(stmt.limit(page_size).offset((page - 1) * page_size)).all()
    return {"items": items, "total": total, "page": page, "page_size": page_size, "pages": max(1, -(-total // page_size))}


def paginate_filtered(query, args):
    """One page of ``query(**filters)``; ``args`` holds the filters plus ``page`` and ``page_size`` (PageArgs)."""
    filters = {k: v for k, v in args.items() if k not in ("page", "page_size")}
    return paginate(query(**filters), args["page"], args["page_size"])
