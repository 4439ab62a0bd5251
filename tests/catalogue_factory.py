"""Test data for the approved catalogue: API payloads and import files."""
import csv
import io

HEADERS_EN = [
    "tender_batch", "lot", "manufacturer", "model_code", "device_type", "adas", "dsm", "bsd", "video_channels",
    "jtt808", "jtt1078", "gd_active_safety", "bid_unit_price", "valid_from", "valid_to",
]
HEADERS_ZH = [
    "招标批次", "标包", "生产厂家", "设备型号", "设备类型", "ADAS", "DSM", "BSD", "视频通道数",
    "JT/T 808", "JT/T 1078", "广东主动安全", "中标单价(元)", "有效期起", "有效期止",
]


def entry_payload(**overrides):
    """A realistic catalogue entry as POSTed to /api/catalogue."""
    data = {
        "tender_batch": "GD-2021-01",
        "lot": "1",
        "manufacturer": "Streamax",
        "model_code": "C6D-AI",
        "device_type": "all_in_one",
        "adas": True,
        "dsm": True,
        "bsd": False,
        "video_channels": 4,
        "jtt808": True,
        "jtt1078": True,
        "gd_active_safety": True,
        "bid_unit_price": "2380.00",
        "valid_from": "2021-03-01",
        "valid_to": "2022-12-31",
    }
    data.update(overrides)
    return data


def catalogue_rows(count, batch="GD-2021-01"):
    """``count`` valid rows in HEADERS_EN order, each a distinct model."""
    rows = []
    for i in range(count):
        rows.append([
            batch, str(i % 5 + 1), f"Maker {i % 7}", f"M-{i:04d}", "split" if i % 3 else "all_in_one",
            "1", "yes", "N", str(2 + i % 6), "是", "✓", "true", f"{1800 + i}.50", "2021-03-01", "2022-12-31",
        ])
    return rows


def csv_bytes(headers, rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(headers, rows):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, data, filename, url="/api/catalogue/import"):
    return client.post(url, data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")
