"""Bar charts drawn on the server as inline SVG: no script, no CDN, readable on a laptop and on a phone.

``hbars`` computes the geometry of a horizontal grouped bar chart; the ``hbar_chart`` macro in
``templates/_charts.html`` draws it. Each row has its label on a line of its own, then one bar per series. Bar
lengths are percentages of the chart's width (one scale for the whole chart: the largest value reaches
``LONGEST`` %), so the chart shrinks with the screen while its text keeps its size; the rest of the width holds
each bar's value.
"""
from decimal import Decimal

LONGEST = 70  # % of the width for the largest value; the value's text follows the bar
BAR = 16  # px, one bar's height
BAR_GAP = 3  # px between the bars of a row
LABEL = 20  # px, the row's label line
ROW_GAP = 12  # px after each row
COLOURS = ("#0b6bcb", "#067647", "#b54708", "#6941c6", "#9ca3af")


def hbars(rows, series, fmt=str):
    """Geometry for rows of bars.

    ``rows``: [(label, [value per series], href or None)]; ``series``: [(key, label)] or [(key, label, colour)];
    ``fmt`` turns a value into the text shown after its bar. Negative values (a month of reversals) draw as 0. A row
    with nothing in it (every value 0 or None: a month or a category without costs) is not drawn.
    """
    rows = [row for row in rows if any(v for v in row[1])]
    keys = [(s[0], s[1], s[2] if len(s) > 2 else COLOURS[i % len(COLOURS)]) for i, s in enumerate(series)]
    largest = max([v for _label, values, _href in rows for v in values if v is not None and v > 0] + [0])
    step = BAR + BAR_GAP
    height_of_row = LABEL + len(keys) * step - BAR_GAP + ROW_GAP
    drawn = []
    for index, (label, values, href) in enumerate(rows):
        top = index * height_of_row
        bars = []
        for number, ((key, name, colour), value) in enumerate(zip(keys, values)):
            share = Decimal(max(value or 0, 0)) * LONGEST / Decimal(largest) if largest else Decimal(0)
            bars.append({
                "series": key, "name": name, "colour": colour, "value": value, "text": fmt(value),
                "y": top + LABEL + number * step, "w": float(round(share, 2)),
            })
        drawn.append({"label": label, "href": href, "label_y": top + LABEL - 6, "bars": bars})
    return {
        "rows": drawn, "bar": BAR, "height": max(len(rows) * height_of_row - ROW_GAP, 0),
        "series": [{"key": k, "label": name, "colour": colour} for k, name, colour in keys], "longest": LONGEST,
    }


def money(value):
    """1234567.8 -> '1,234,567.80' (CNY on charts)."""
    return f"{Decimal(value or 0):,.2f}"
