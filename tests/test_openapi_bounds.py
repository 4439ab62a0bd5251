"""Every id, number, amount and date the API takes or gives is documented with its bounds, and the code cannot
escape them: schemas use insurer_dms.fields, never marshmallow's unbounded fields."""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "insurer_dms"


@pytest.fixture(scope="module")
def spec(app):
    with app.test_request_context():
        from insurer_dms.extensions import api

        return api.spec.to_dict()


def walk(schema, where):
    """Every (where, property schema) reachable from ``schema``, $refs left for the components walk."""
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    yield where, schema
    for name, prop in schema.get("properties", {}).items():
        yield from walk(prop, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from walk(schema[key], f"{where}[{key}]")
    for key in ("allOf", "anyOf", "oneOf"):
        for i, part in enumerate(schema.get(key, [])):
            yield from walk(part, f"{where}.{key}[{i}]")


def every_schema(spec):
    for name, schema in spec["components"]["schemas"].items():
        yield from walk(schema, name)
    for path, item in spec["paths"].items():
        for parameter in item.get("parameters", []):
            yield from walk(parameter.get("schema", {}), f"{path} {parameter['name']}")
        for method, operation in item.items():
            if method == "parameters":
                continue
            for parameter in operation.get("parameters", []):
                yield from walk(parameter.get("schema", {}), f"{method.upper()} {path} {parameter['name']}")
            for media in operation.get("requestBody", {}).get("content", {}).values():
                yield from walk(media.get("schema", {}), f"{method.upper()} {path} body")


def test_the_walk_sees_the_whole_document(spec):
    seen = list(every_schema(spec))
    assert len(seen) > 1000
    assert any(s.get("format") == "decimal" for _, s in seen)
    assert any(w.endswith(" page") for w, _ in seen)


def test_every_integer_has_a_minimum_and_a_maximum(spec):
    unbounded = [where for where, s in every_schema(spec)
                 if s.get("type") == "integer" and ("minimum" not in s or "maximum" not in s)]
    assert unbounded == []


def test_every_path_id_is_a_row_id(spec):
    for path, item in spec["paths"].items():
        for parameter in item.get("parameters", []):
            if parameter["schema"].get("type") == "integer":
                assert (parameter["schema"]["minimum"], parameter["schema"]["maximum"]) == (1, 2**31 - 1), path


def test_every_decimal_is_a_string_with_a_pattern_and_bounds(spec):
    decimals = [(w, s) for w, s in every_schema(spec) if s.get("format") == "decimal"]
    assert decimals
    for where, s in decimals:
        assert s["type"] == "string" and s["pattern"].startswith("^"), where
        assert isinstance(s["minimum"], (int, float)) and isinstance(s["maximum"], (int, float)), where
        assert s["maximum"] <= 9999999999.99, where
    assert not [w for w, s in every_schema(spec) if s.get("type") == "number"]


def test_money_is_negative_only_where_the_domain_has_it(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["Correction"]["properties"]["amount"]["minimum"] < 0
    for name, field in [("CatalogueEntry", "bid_unit_price"), ("PurchaseOrderLineIn", "unit_price"),
                        ("QueryClose", "refund_amount"), ("DataPlan", "monthly_fee")]:
        assert schemas[name]["properties"][field]["minimum"] >= 0, (name, field)


def test_every_date_and_time_has_its_window(spec):
    dated = [(w, s) for w, s in every_schema(spec) if s.get("format") in ("date", "date-time")]
    assert dated
    assert [w for w, s in dated if (s.get("x-minimum"), s.get("x-maximum")) != ("1990-01-01", "2100-12-31")] == []


def test_no_module_uses_marshmallow_fields_directly():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path in (PACKAGE / "fields.py", PACKAGE / "validation_messages.py"):  # the field types; marshmallow's messages
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "fields" and isinstance(node.value, ast.Name) \
                    and node.value.id in ("ma", "marshmallow"):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module in ("marshmallow.fields", "marshmallow") \
                    and any(alias.name == "fields" or node.module == "marshmallow.fields" for alias in node.names):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []
