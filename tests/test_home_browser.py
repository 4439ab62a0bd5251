"""The operations home in real Chromium: the charts are drawn, sized by their figures, and readable on a phone."""
import io
from decimal import Decimal

import pytest
from PIL import Image

from tests import home_factories as hf

D = Decimal


@pytest.fixture
def scene(app):
    with app.app_context():
        return hf.scene()


def non_white_share(png):
    """The share of pixels that are not (nearly) white in a screenshot."""
    image = Image.open(io.BytesIO(png)).convert("L")
    histogram = image.histogram()
    return 1 - sum(histogram[245:]) / (image.width * image.height)


def test_the_home_charts_are_drawn_with_bars_sized_by_their_figures(login_as, live_server, scene):
    page = login_as("ops")
    page.goto(live_server.url("/home"))
    costs = page.locator("#costs-chart svg")
    bars = costs.locator("rect.bar")
    assert bars.count() == 8  # 4 categories with costs x (last month, this month)
    drawn = {(b.get_attribute("data-series"), D(b.get_attribute("data-value"))): b.bounding_box()["width"]
             for b in bars.all()}
    largest = drawn[("this", D("8800.00"))]
    svg_width = costs.bounding_box()["width"]
    assert largest == pytest.approx(svg_width * 0.70, abs=1)
    assert drawn[("this", D("280.00"))] == pytest.approx(largest * 280 / 8800, abs=1)
    assert drawn[("last", D("25.00"))] == pytest.approx(largest * 25 / 8800, abs=1)
    labels = costs.locator("text.row-label").all_text_contents()
    assert labels == ["Device purchase", "Installation fee", "SIM plan fee", "Travel"]
    assert "8,800.00" in costs.locator("text.bar-value").all_text_contents()

    progress = page.locator("#progress-chart svg rect.bar")
    assert progress.count() == 6  # the 2 counties with trucks x (insured, installed, connected)
    xiangqiao = page.locator('#progress-chart g.chart-row').first.locator("rect.bar")
    insured, installed, connected = (xiangqiao.nth(i).bounding_box()["width"] for i in range(3))
    assert installed == pytest.approx(insured * 2 / 3, abs=1) and connected == pytest.approx(insured / 3, abs=1)

    shot = page.locator("#costs-chart").screenshot()
    assert non_white_share(shot) > 0.03  # bars and text, not a blank box
    assert page.locator("#tile-sim-disputed .num").inner_text() == "5.00"


def test_on_a_phone_the_charts_fit_the_screen_and_keep_readable_text(login_as, live_server, scene):
    page = login_as("ops")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url("/home"))
    for chart in ("#progress-chart", "#costs-chart"):
        box = page.locator(f"{chart} svg").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        size = page.locator(f"{chart} text.row-label").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 12
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    shot = page.locator("#progress-chart").screenshot()
    assert non_white_share(shot) > 0.03
