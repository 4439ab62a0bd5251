"""Paging, sorting and the list envelope shared by every list endpoint and page.

A list that can be sorted and exported is a ``ListSpec``: its query, the columns ``sort`` may name (each mapped to
its SQL expression, the row id breaking ties), and its export columns (header message id, value getter,
labels of a code column). The page and the API both read the list through it (``ListSpec.args`` adds
``sort``, ``format`` and ``lang`` to a list's filter schema), so a list sorts, pages and exports the same way
everywhere; ``list_exports.py`` writes its XLSX.
"""
from dataclasses import dataclass
from typing import Callable

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


CONTROLS = ("page", "page_size", "sort", "format", "lang")  # list arguments that are not filters
PAGE_SIZES = (20, 50, 100, 200)  # the pager's page-size chooser (those up to PAGE_SIZE_MAX)
SORT_MAX_LENGTH = 40


def filters_of(args):
    """The filters among a list's arguments (what the list's query takes)."""
    return {k: v for k, v in args.items() if k not in CONTROLS}


def paginate_filtered(query, args):
    """One page of ``query(**filters)`` (a ``ListSpec``: its sorted statement); ``args`` holds the filters plus
    ``page`` and ``page_size`` (PageArgs), and ``sort`` for a ListSpec."""
    stmt = query.statement(args) if isinstance(query, ListSpec) else query(**filters_of(args))
    return paginate(stmt, args["page"], args["page_size"])


@dataclass(frozen=True)
class Column:
    """One export column: its header (a lazy message id, the page's own column label), the value of a row (a
    Decimal is written with two decimals, a date as a date cell), and ``labels`` (a labels.py function) for a code
    column shown as its label."""

    header: object
    value: Callable
    labels: Callable | None = None


class ListSpec:
    """A sortable, exportable list: ``query(**filters)`` gives its statement (in its default order); ``sorts`` maps
    each name ``sort`` may take (``plate`` ascending, ``-plate`` descending) to a SQL expression; ``key`` (the
    row id) breaks ties; ``columns`` are its export; ``filename`` (a lazy message id) and ``slug`` (ASCII) name
    the file."""

    def __init__(self, slug, query, key, sorts, columns, filename):
        self.slug, self.query, self.key = slug, query, key
        self.sorts, self.columns, self.filename = dict(sorts), list(columns), filename
        self._schemas = {}

    def sort_choices(self):
        return [value for name in self.sorts for value in (name, "-" + name)]

    def args(self, schema):
        """``schema`` (a list's filters, PageArgs) with ``sort``, ``format`` and ``lang``: a schema class, made once."""
        if schema in self._schemas:
            return self._schemas[schema]
        attrs = {
            "sort": fields.String(
                load_default=None, validate=[ma.validate.Length(max=SORT_MAX_LENGTH), ma.validate.OneOf(self.sort_choices())],
                metadata={"description": "A column to sort by, descending with a leading '-'; ties by id."}),
            "format": fields.String(
                load_default=None, validate=ma.validate.OneOf(["json", "xlsx"]),
                metadata={"description": "xlsx: every row of the filter as an Excel file (as Accept: "
                                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet)."}),
            "lang": fields.String(
                load_default=None, validate=ma.validate.OneOf(["zh", "en"]),
                metadata={"description": "The export's language: Chinese headers and labels (default) or English."}),
        }
        self._schemas[schema] = type(schema.__name__, (schema,), attrs)
        return self._schemas[schema]

    def sorted(self, stmt, sort):
        """``stmt`` in the order ``sort`` names (its own order when None), ties broken by the row id."""
        if not sort:
            return stmt
        descending = sort.startswith("-")
        column = self.sorts[sort.lstrip("-")]
        if descending:
            return stmt.order_by(None).order_by(column.desc().nulls_last(), self.key.desc())
        return stmt.order_by(None).order_by(column.asc().nulls_last(), self.key.asc())

    def statement(self, args):
        """The list's statement for ``args`` (filters and ``sort``), every row of the filter."""
        return self.sorted(self.query(**filters_of(args)), args.get("sort"))
