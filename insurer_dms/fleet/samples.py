"""Realistic policy-system export rows for Chaozhou (demo data and tests), written as CSV or XLSX."""
import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal

from ..exports import Sheet, csv_bytes, xlsx_bytes
from .identifiers import make_credit_code, make_vin

HEADERS = (
    "经营者名称", "统一社会信用代码", "联系电话", "车牌号码", "车牌颜色", "车架号", "车辆类型", "总质量(kg)", "区县代码",
    "保单号", "险种", "起保日期", "终保日期", "保费", "基准保费", "NCD系数", "自主定价系数", "交通违法系数",
    "车损险保额", "三者险保额", "司乘险保额",
)
COUNTIES = ("445102", "445103", "445122")
# (Chinese registration type, total mass kg range, share)
VEHICLES = (
    ("重型半挂牵引车", (18_000, 25_000), 0.35),
    ("重型普通货车", (12_000, 31_000), 0.35),
    ("中型普通货车", (4_500, 11_999), 0.15),
    ("重型专项作业车", (14_000, 33_000), 0.05),
    ("重型普通半挂车", (30_000, 40_000), 0.10),
)
_PLATE_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
NCD_STEPS = ("0.5000", "0.6000", "0.7000", "0.8000", "1.0000", "1.2000", "1.4000", "1.6000")


def _money(value):
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class ExportBuilder:
    """Builds export rows with unique plates, VINs, credit codes and policy numbers."""

    def __init__(self, seed=2021, serial=0):
        self.rng = random.Random(seed)
        self.plates, self.serial = set(), serial

    def operator(self, county=None):
        county = county or self.rng.choice(COUNTIES)
        name = f"潮州市{self.rng.choice(('顺达', '通运', '恒发', '鸿运', '韩江', '凤凰', '瓷都'))}物流有限公司{self.rng.randrange(1000):03d}"
        return {"经营者名称": name, "统一社会信用代码": make_credit_code(self.rng, division=county),
                "联系电话": f"0768-{self.rng.randrange(2000000, 9999999)}", "区县代码": county}

    def plate(self, trailer=False):
        while True:
            body = "".join(self.rng.choice(_PLATE_CHARS) for _ in range(4 if trailer else 5))
            plate = "粤U" + body + ("挂" if trailer else "")
            if plate not in self.plates and "I" not in body and "O" not in body:
                self.plates.add(plate)
                return plate

    def truck(self, operator, vehicle=None):
        kinds = [v for v in VEHICLES if vehicle is None or v[0] == vehicle]
        name, (low, high), _ = self.rng.choices(kinds, weights=[v[2] for v in kinds])[0]
        plate = self.plate(trailer="半挂车" in name)
        return {**operator, "车牌号码": plate, "车牌颜色": "黄色", "车架号": make_vin(self.rng),
                "车辆类型": name, "总质量(kg)": str(self.rng.randrange(low, high + 1))}

    def policy(self, truck, kind="商业险", start=dt.date(2024, 3, 1)):
        self.serial += 1
        commercial = kind == "商业险"
        benchmark = _money(self.rng.randrange(6000, 16000) if commercial else 4480)
        ncd = Decimal(self.rng.choice(NCD_STEPS) if commercial else self.rng.choice(("0.7000", "0.8000", "0.9000", "1.0000", "1.1000")))
        autonomous = Decimal(self.rng.choice(("0.8500", "0.9500", "1.0000", "1.0500", "1.1500"))) if commercial else None
        violation = Decimal("1.0000")
        premium = _money(benchmark * ncd * (autonomous or 1) * violation)
        code = "PDAA" if commercial else "PDZA"
        return {**truck, "保单号": f"{code}{start.year}{truck['区县代码']}{self.serial:08d}", "险种": kind,
                "起保日期": start.isoformat(), "终保日期": (start.replace(year=start.year + 1) - dt.timedelta(days=1)).isoformat(),
                "保费": str(premium), "基准保费": str(benchmark), "NCD系数": str(ncd),
                "自主定价系数": str(autonomous) if autonomous else "", "交通违法系数": str(violation),
                "车损险保额": f"{self.rng.randrange(10, 60) * 10000}.00" if commercial else "",
                "三者险保额": f"{self.rng.choice((100, 200, 300)) * 10000}.00" if commercial else "",
                "司乘险保额": "50000.00" if commercial else ""}

    def rows(self, count, start=dt.date(2024, 3, 1)):
        """``count`` rows: operators with a few trucks, each truck with commercial and compulsory cover."""
        rows = []
        while len(rows) < count:
            operator = self.operator()
            for _ in range(self.rng.randrange(1, 4)):
                truck = self.truck(operator)
                for kind in ("商业险", "交强险"):
                    if len(rows) < count:
                        rows.append(self.policy(truck, kind, start))
        return rows


def to_csv(rows, headers=HEADERS):
    """UTF-8 CSV bytes with a BOM, as Excel writes it."""
    return csv_bytes([list(headers), *([row.get(h, "") for h in headers] for row in rows)])


def to_xlsx(rows, headers=HEADERS):
    """XLSX bytes; numbers and dates stored as typed cells, as a policy system would."""
    def cells(row):
        for h in headers:
            value = row.get(h, "")
            if h == "总质量(kg)" and value != "":
                value = int(value)
            elif h in ("起保日期", "终保日期") and value:
                value = dt.date.fromisoformat(value)
            yield value

    return xlsx_bytes([Sheet("Sheet", [list(headers), *(list(cells(row)) for row in rows)])])
