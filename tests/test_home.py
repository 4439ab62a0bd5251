"""The operations home: every figure equals a direct count, and other roles see no figures."""
import datetime as dt
import re

from insurer_dms.extensions import db
from insurer_dms.web.service import home_figures
from tests.factories import make_devices, make_entry, make_po


def _seed_fleet(app):
    from insurer_dms.fleet.samples import ExportBuilder, to_csv
    from insurer_dms.fleet.service import import_policy_export

    today = dt.date.today()
    builder = ExportBuilder(seed=7)
    rows = []
    for i in range(12):
        truck = builder.truck(builder.operator(), vehicle=("重型半挂牵引车" if i % 3 else "中型普通货车"))
        start = today - dt.timedelta(days=30) if i < 9 else today - dt.timedelta(days=400)  # 3 lapsed
        rows.append(builder.policy(truck, "商业险", start))
    with app.app_context():
        import_policy_export(to_csv(rows), "fleet.csv")


def test_home_figures_match_direct_counts(app, ctx):
    _seed_fleet(app)
    entry = make_entry(valid_from=dt.date(2020, 1, 1), valid_to=dt.date(2030, 12, 31))
    make_entry(valid_from=dt.date(2020, 1, 1), valid_to=dt.date(2030, 12, 31), withdrawn_on=dt.date(2021, 1, 1))
    po = make_po([entry], quantity=5, order_date=dt.date(2024, 1, 10))
    make_devices(po, 3)
    db.session.commit()
    figures = home_figures()
    assert figures["trucks"] == 12
    assert figures["heavy_trucks"] == 8  # tractors only; the 4 medium goods vehicles are under 12 t
    # trucks 0..8 have cover today; of those, the heavy ones are i % 3 != 0 -> 1,2,4,5,7,8
    assert figures["heavy_insured_today"] == 6
    assert figures["policies_in_force"] == 9
    assert figures["catalogue_usable"] == 1
    assert figures["devices_by_status"] == {"in_stock": 3}
    assert figures["devices_total"] == 3


def test_home_page_shows_the_figures_to_ops_only(app, ops, contractor):
    _seed_fleet(app)
    html = ops.get("/home").get_data(as_text=True)
    assert re.search(r'id="tile-trucks".*?<span class="num">12</span>', html, re.S)
    assert re.search(r'id="tile-heavy-insured".*?<span class="num">6</span>', html, re.S)
    other = contractor.get("/home").get_data(as_text=True)
    assert "tile-trucks" not in other
