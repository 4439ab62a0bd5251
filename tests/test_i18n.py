"""Simplified Chinese pages: a complete, compiled catalogue, and the language chosen per request and per user."""
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
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    found = {_key(msg) for _file, _line, msg, _comments, _context in extract_from_dir(str(PACKAGE), method_map, options_map, keywords)}
    found = {k for k in found if k[0]}
    missing = sorted(found - set(_entries(po)))
    assert not missing, f"not in {PO.name}; run bash scripts/translations and translate: {missing}"


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
