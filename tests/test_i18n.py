"""Simplified Chinese pages: a complete, compiled catalogue, and the language chosen per request and per user;
every message a user can be refused with is a message id, never a plain English string."""
import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "insurer_dms"
# Babel parses the app's "zh_CN" as zh_Hans_CN, so that is where Flask-Babel looks for the catalogue.
PO = PACKAGE / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
HAN = re.compile(r"[\u4e00-\u9fff]")


def _catalog(path, reader):
    with open(path, "rb") as f:
        return reader(f) if reader is read_mo else reader(f, locale="zh_CN")


def _key(message_id):
    return tuple(message_id) if isinstance(message_id, (tuple, list)) else (message_id,)


def _entries(catalog):
    return {_key(m.id): _key(m.string) for m in catalog if m.id}


@pytest.fixture(scope="module")
def po():
    return _catalog(PO, read_po)


def test_every_message_is_translated_and_none_is_fuzzy(po):
    untranslated = [m.id for m in po if m.id and not (all(m.string) if isinstance(m.id, tuple) else m.string)]
    fuzzy = [m.id for m in po if m.id and m.fuzzy]
    assert not untranslated, f"untranslated in {PO.name}: {untranslated}"
    assert not fuzzy, f"fuzzy in {PO.name} (check and clear the flag): {fuzzy}"
    assert len(po) > 150


def test_placeholders_and_plural_forms_are_right(po):
    assert po.num_plurals == 1  # Chinese has one plural form
    assert not [(m.id, [str(e) for e in errors]) for m, errors in po.check()]
    placeholders = re.compile(r"%\((\w+)\)s")
    for m in po:
        if m.id:
            wanted = {name for original in _key(m.id) for name in placeholders.findall(original)}
            for translated in _key(m.string):
                assert set(placeholders.findall(translated)) == wanted, m.id


def test_marshmallow_placeholders_survive_the_translation(po):
    """marshmallow fills ``{min}``, ``{input}``... into its messages: a translation must keep the same fields."""
    fields = re.compile(r"(?<!\{)\{(\w*)(?:![rsa])?\}(?!\})")
    for m in po:
        if m.id and "python-brace-format" in m.flags:
            assert set(fields.findall(m.string)) == set(fields.findall(m.id)), m.id
            assert m.string.count("{{") == m.id.count("{{") and m.string.count("}}") == m.id.count("}}"), m.id


def test_translations_are_chinese(po):
    not_chinese = [m.id for m in po if m.id and not all(HAN.search(t) for t in _key(m.string))]
    assert not not_chinese


def test_compiled_catalogue_matches_the_po(po):
    mo = _catalog(MO, read_mo)
    assert _entries(mo) == _entries(po), "the .mo is stale: run bash scripts/translations"


def test_every_string_in_the_code_is_in_the_catalogue(po):
    """A new _() string not yet extracted would show in English on Chinese pages."""
    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = {(context, *_key(msg)) for _file, _line, msg, _comments, context in _extracted()}
    found = {k for k in found if k[1]}
    assert ("ticket state", "Closed") in found and ("date range", "From") in found  # pgettext, Python and Jinja
    in_catalogue = {(m.context, *_key(m.id)) for m in po if m.id and (all(m.string) if isinstance(m.id, tuple) else m.string)}
    missing = sorted(found - in_catalogue, key=str)
    assert not missing, f"not translated in {PO.name}; run bash scripts/translations and translate: {missing}"


def _extracted():
    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    return list(extract_from_dir(str(PACKAGE), method_map, options_map, {**DEFAULT_KEYWORDS, "_l": None}))


# --- one word for one concept ---------------------------------------------------------------------------

_MESSAGE_IN_TEMPLATE = re.compile(r"""\b(?:_|gettext)\(\s*(['"])(.+?)\1|\bpgettext\(\s*(['"])(.+?)\3\s*,\s*(['"])(.+?)\5""")


def _messages_in(html):
    """(context, msgid) of every _()/pgettext() message in ``html``, in order."""
    return [(m[4], m[6]) if m[4] else (None, m[2]) for m in _MESSAGE_IN_TEMPLATE.finditer(html)]


def test_no_two_messages_in_one_table_header_or_the_menu_share_a_chinese_label(po):
    """Two different messages (msgid or context) in one table's header row, or in the top bar, translated alike would
    show one word for two concepts (关闭时间 for a state, 工单 for both kinds of order)."""
    translated = {(m.context, m.id): m.string for m in po if m.id and isinstance(m.id, str)}
    groups = []
    for path in sorted(PACKAGE.rglob("templates/**/*.html")):
        for n, head in enumerate(re.findall(r"<thead>(.*?)</thead>", path.read_text(), re.S)):
            groups.append((f"{path.relative_to(PACKAGE)} table {n + 1}", _messages_in(head)))
    source = (PACKAGE / "__init__.py").read_text()
    menu = source[source.index("def nav_groups"):source.index("return groups")]
    groups.append(("the top bar (nav_groups)", [(None, m) for m in re.findall(r'_\("(.+?)"\)', menu)]))
    shared = []
    for where, messages in groups:
        by_label = {}
        for message in dict.fromkeys(messages):
            if message in translated:
                by_label.setdefault(translated[message], []).append(message)
        shared += [(where, label, ids) for label, ids in by_label.items() if len(ids) > 1]
    assert len(groups) > 50
    assert not shared, "one Chinese label for different messages: use a distinct msgid or a pgettext context:\n" + "\n".join(map(str, shared))


def test_the_check_finds_a_shared_label():
    assert _messages_in("<th>{{ _('Closed') }}</th><th>{{ pgettext('ticket state', 'Closed') }}</th>") == [
        (None, "Closed"), ("ticket state", "Closed")]


def test_every_code_of_the_domain_has_a_label(app):
    """labels.py names every value of every state and code kind the models know, so no page or export prints a code."""
    from insurer_dms import labels
    from insurer_dms.audits import models as audits
    from insurer_dms.installs import models as installs
    from insurer_dms.inventory import models as inventory
    from insurer_dms.maintenance import models as maintenance
    from insurer_dms.maintenance.reports import AGE_BUCKETS
    from insurer_dms.sims import models as sims
    from insurer_dms.sims.reconciliation_report import FLAGS

    kinds = {
        "order_state": installs.ORDER_STATES, "order_kind": installs.ORDER_KINDS, "photo_kind": installs.PHOTO_KINDS,
        "removal_reason": installs.REMOVAL_REASONS, "device_state": inventory.DEVICE_STATES,
        "sim_state": sims.SIM_STATES, "statement_state": sims.STATEMENT_STATES,
        "reconciliation_outcome": sims.OUTCOMES, "reconciliation_flag": FLAGS,
        "ticket_state": maintenance.STATES, "ticket_category": maintenance.CATEGORIES, "ticket_source": maintenance.SOURCES,
        "sla_state": maintenance.SLA_STATES, "ticket_event": maintenance.EVENT_KINDS,
        "road_check_outcome": maintenance.FINDING_OUTCOMES, "sla_age": [key for key, _low, _high in AGE_BUCKETS],
        "audit_status": audits.AUDIT_STATES, "query_state": audits.QUERY_STATES, "finding_reason": audits.FINDING_REASONS,
        "import_status": ("pending", "running", "done", "failed"),
    }
    with app.app_context(), app.test_request_context(headers=ZH):
        unnamed = [(kind, code) for kind, codes in kinds.items() for code in codes
                   if not HAN.search(labels.label(kind, code))]
        assert labels.label("ticket_state", "closed") == "已关闭" and labels.label("audit_status", "published") == "已发布"
        assert labels.cell("reconciliation_outcome", "matched") != "matched"
    assert not unnamed
    with app.app_context(), app.test_request_context(headers=EN):
        assert labels.cell("reconciliation_outcome", "matched") == "matched"  # integrators match on the codes


# --- messages are ids -----------------------------------------------------------------------------------

# The calls that carry a message to a user, and the position of the message among their arguments.
MESSAGE_CALLS = {"Invalid": 0, "Conflict": 0, "NotFound": 0, "DomainError": 0, "ImportFailed": 1, "invalid": 1,
                 "ValidationError": 0, "Forbidden": 0, "Unauthorized": 0, "BadRequest": 0, "RequestEntityTooLarge": 0,
                 "UnsupportedMediaType": 0, "TooManyRequests": 0, "commit_or_conflict": 0, "abort": 1}


def _plain_text(node):
    """A str literal, an f-string, or text built from one (+, %, .format): English that no catalogue translates."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return _plain_text(node.left) or _plain_text(node.right)
    if isinstance(node, ast.IfExp):
        return _plain_text(node.body) or _plain_text(node.orelse)
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
            and _plain_text(node.func.value))


def _called(node):
    return node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else None


def _plain_messages(tree):
    """(line, what) of every user message in ``tree`` that is plain text instead of a lazy gettext id."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _called(node)
        if name in MESSAGE_CALLS:
            at = MESSAGE_CALLS[name]
            message = node.args[at] if len(node.args) > at else next(
                (k.value for k in node.keywords if k.arg in ("message", "description")), None)
            if message is not None and _plain_text(message):
                found.append((node.lineno, f"{name}(...) message"))
            details = [*node.args[at + 1:], *(k.value for k in node.keywords if k.arg == "errors")]
            for detail in details:  # {field: ["..."]}: the field messages
                for inner in ast.walk(detail):
                    if isinstance(inner, (ast.List, ast.Tuple)):
                        found += [(e.lineno, f"{name}(...) field message") for e in inner.elts if _plain_text(e)]
        elif name == "add" and len(node.args) == 3 and _plain_text(node.args[2]):  # RowErrors.add(row, column, message)
            found.append((node.lineno, "row message"))
    for node in ast.walk(tree):  # errors["field"] = ["..."]
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.List) and isinstance(node.targets[0], ast.Subscript)
                and isinstance(node.targets[0].value, ast.Name) and "error" in node.targets[0].value.id):
            found += [(e.lineno, "field message") for e in node.value.elts if _plain_text(e)]
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in ("message", "refusal") for t in node.targets):
            if _plain_text(node.value):
                found.append((node.lineno, "message variable"))
    return found


def test_the_check_finds_plain_messages():
    tree = ast.parse("""
raise Invalid("Bad.", {"x": ["Bad."]})
raise NotFound(f"No truck {truck_id}.")
raise invalid("x", "Bad " + name)
raise ma.ValidationError("Must be {n}.".format(n=1))
errors.add(2, "vin", f"VIN {vin} twice.")
errors["plan_id"] = [f"No plan {plan_id}."]
message = "Taken."
raise Conflict(_l("Taken by %(who)s.", who=who), {"x": [_l("Taken.")]})
flash("; ".join([err.message, *more]))
""")
    assert [line for line, _what in _plain_messages(tree)] == [2, 2, 3, 4, 5, 6, 7, 8]


def test_every_message_a_user_is_refused_with_is_a_message_id():
    """Domain errors, schema and field messages, row errors, 401/403 refusals: ``_l("...", name=value)``, so the
    error edge can answer in the user's language. A plain str or an f-string would always be English."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        offenders += [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in _plain_messages(ast.parse(path.read_text()))]
    assert not offenders, "use flask_babel.lazy_gettext with keyword parameters:\n" + "\n".join(offenders)


def test_marshmallow_and_webargs_messages_are_all_ids():
    """Every message marshmallow's fields, validators and schemas (and webargs) can answer with is a message id."""
    import inspect

    import marshmallow as ma
    from marshmallow import fields, validate
    from webargs import core, fields as webargs_fields

    from insurer_dms.validation_messages import Message

    plain = []
    for module in (fields, webargs_fields):
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, fields.Field):
                messages = {}
                for base in reversed(cls.__mro__):  # as a field merges them when it is built
                    messages.update(getattr(base, "default_error_messages", {}))
                plain += [f"{name}.{key}" for key, text in messages.items() if not isinstance(text, Message)]
    for name, cls in inspect.getmembers(validate, inspect.isclass):
        for attribute in ("default_message", "message_min", "message_max", "message_all", "message_equal", "message_gte",
                          "message_gt", "message_lte", "message_lt"):
            if isinstance(getattr(cls, attribute, None), str) and not isinstance(getattr(cls, attribute), Message):
                plain.append(f"{name}.{attribute}")
    plain += [f"Schema.{key}" for key, text in ma.Schema._default_error_messages.items() if not isinstance(text, Message)]
    assert isinstance(core.Parser.DEFAULT_VALIDATION_MESSAGE, Message)
    assert not plain, f"not translated (add them to insurer_dms/validation_messages.py): {plain}"


def test_a_validator_built_at_import_time_answers_in_the_language_of_the_request(app):
    import marshmallow as ma

    class Form(ma.Schema):
        count = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=9))
        day = ma.fields.Date(required=True)
        note = ma.fields.String(validate=ma.validate.Length(max=3))

    def messages():
        try:
            Form().load({"count": 12, "note": "long", "extra": 1})
        except ma.ValidationError as err:
            from insurer_dms.errors import flatten_errors

            return flatten_errors(err.messages)

    with app.app_context(), app.test_request_context(headers=ZH):
        assert messages() == {"count": ["必须大于或等于 1，且小于或等于 9。"], "day": ["此项为必填项。"],
                              "note": ["长度不能超过 3。"], "extra": ["未知字段。"]}
    with app.app_context(), app.test_request_context(headers=EN):
        assert messages() == {"count": ["Must be greater than or equal to 1 and less than or equal to 9."],
                              "day": ["Missing data for required field."], "note": ["Longer than maximum length 3."],
                              "extra": ["Unknown field."]}


def test_a_lazy_message_is_escaped_like_any_text_on_a_page(app):
    from flask import render_template_string
    from flask_babel import lazy_gettext as _l

    with app.app_context(), app.test_request_context(headers=EN):
        shown = render_template_string("{{ m }}", m=_l("No truck %(truck)s.", truck="<script>x</script>"))
    assert shown == "No truck &lt;script&gt;x&lt;/script&gt;."


# --- the language of a request -------------------------------------------------------------------------

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


def test_login_page_follows_the_browser_language(anon):
    zh = anon.get("/login", headers=ZH).get_data(as_text=True)
    assert '<html lang="zh-CN">' in zh and "<h1>登录</h1>" in zh and "密码" in zh
    en = anon.get("/login", headers=EN).get_data(as_text=True)
    assert '<html lang="en">' in en and "<h1>Log in</h1>" in en and "登录" not in en


def test_pages_for_operations_are_in_chinese(ops):
    devices = ops.get("/devices", headers=ZH).get_data(as_text=True)
    assert "<h1>设备</h1>" in devices and "在库" in devices and "中标设备目录" in devices  # heading, state filter, navigation
    trucks = ops.get("/trucks", headers=ZH).get_data(as_text=True)
    assert "<h1>车辆</h1>" in trucks and "半挂牵引车" in trucks and "共 0 辆车" in trucks and "445122 饶平县" in trucks
    home = ops.get("/home", headers=ZH).get_data(as_text=True)
    assert "(运营管理)" in home  # the role is a label, not the raw value
    assert "<h1>Devices</h1>" in ops.get("/devices", headers=EN).get_data(as_text=True)


def test_error_page_status_is_translated(ops):
    zh = ops.get("/no-such-page", headers={**ZH, "Accept": "text/html"})
    assert zh.status_code == 404 and "404 页面不存在" in zh.get_data(as_text=True) and "请检查拼写" in zh.get_data(as_text=True)
    en = ops.get("/no-such-page", headers={**EN, "Accept": "text/html"})
    assert "404 Not Found" in en.get_data(as_text=True) and "check your spelling" in en.get_data(as_text=True)
    assert "404 页面不存在" in ops.get("/trucks/999999", headers={**ZH, "Accept": "text/html"}).get_data(as_text=True)


def test_domain_values_have_labels(app):
    from insurer_dms.labels import label

    # A fresh app context each time: Flask-Babel caches the locale there (and pytest-flask keeps one open).
    with app.app_context(), app.test_request_context(headers=ZH):
        assert label("action", "withdraw") == "撤销"
        assert label("action", "state:in_stock->faulty") == "在库 → 故障"
        assert label("action", "something_new") == "something_new"
        assert label("role", "contractor") == "安装单位"
    with app.app_context(), app.test_request_context(headers=EN):
        assert label("action", "import") == "imported"
        assert label("http_status", "Conflict") == "Conflict"


# --- the switch in a real browser ----------------------------------------------------------------------


def test_ops_switches_to_chinese_and_back_in_the_browser(login_as, live_server):
    from playwright.sync_api import expect

    page = login_as("ops")  # the browser asks for en-US
    heading, nav = page.locator("h1"), page.locator("header nav")
    expect(heading).to_have_text("Home")
    expect(nav).to_contain_text("Devices")

    page.click("#lang-zh")
    expect(heading).to_have_text("首页")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    for word in ("首页", "中标设备目录", "采购订单", "设备", "车辆", "保单", "保单导入"):
        expect(nav).to_contain_text(word)
    expect(page.locator("#logout")).to_have_text("退出登录")

    nav.get_by_role("link", name="设备", exact=True).click()
    page.wait_for_url("**/devices")
    expect(heading).to_have_text("设备")
    expect(page.locator("#devices thead")).to_contain_text("序列号")
    expect(page.locator("#status-filter")).to_contain_text("在库")

    nav.get_by_role("link", name="车辆", exact=True).click()
    page.wait_for_url("**/trucks")
    expect(heading).to_have_text("车辆")
    expect(page.locator("#trucks-table thead")).to_contain_text("车牌号码")

    # The choice is kept on the user: a fresh page load (the browser still sends en-US) stays Chinese.
    page.goto(live_server.url("/policies"))
    expect(heading).to_have_text("保单")

    page.click("#lang-en")
    page.wait_for_url("**/policies")
    expect(heading).to_have_text("Policies")
    expect(nav).to_contain_text("Trucks")
    expect(nav).not_to_contain_text("车辆")
    page.goto(live_server.url("/trucks"))
    expect(heading).to_have_text("Trucks")
