"""Realistic Chaozhou demo data, loaded through the same services as real files.

The fleet comes in as a policy-system export and the catalogue as a tender-catalogue file, so
``demo load`` exercises the import rules end to end.
"""
import csv
import datetime as dt
import io
import random
from decimal import Decimal

from sqlalchemy import select

DEMO_PASSWORD = "demo-password"
OPS_EMAIL = "ops@demo.insurer.cn"
REVIEWER_EMAIL = "reviewer@demo.nfra.cn"
CONTRACTORS = (
    ("tech@alpha.demo.cn", "潮州安驰车联网科技有限公司"),
    ("tech@beta.demo.cn", "潮安通达智能设备安装有限公司"),
    ("tech@gamma.demo.cn", "饶平顺安电子工程有限公司"),
)
# GB/T 2260 codes; Fengxi is a functional district managed under Xiangqiao's code.
COUNTIES = (("445102", "湘桥区", 0.30), ("445102", "枫溪区", 0.10), ("445103", "潮安区", 0.35), ("445122", "饶平县", 0.25))

CATALOGUE = (
    # batch, lot, manufacturer, model, type, adas, dsm, bsd, channels, 808, 1078, gd, price, from, to, withdrawn
    ("GD-2021-01", "1", "深圳市锐明技术股份有限公司", "M1N-ADAS-4", "all_in_one", 1, 1, 0, 4, 1, 1, 1, "3280.00", "2021-01-15", "2026-12-31", ""),
    ("GD-2021-01", "1", "深圳市有为信息技术发展有限公司", "YW-Z4C", "all_in_one", 1, 1, 0, 4, 1, 1, 1, "3150.00", "2021-01-15", "2026-12-31", ""),
    ("GD-2021-01", "2", "广州通达汽车电气股份有限公司", "TD-AS6", "split", 1, 1, 1, 6, 1, 1, 1, "4680.00", "2021-01-15", "2026-12-31", ""),
    ("GD-2021-01", "2", "厦门雅迅网络股份有限公司", "YX-G7", "split", 1, 1, 1, 8, 1, 1, 1, "5290.00", "2021-01-15", "2026-12-31", ""),
    ("GD-2021-01", "3", "深圳市天迹科技有限公司", "TJ-DVR4", "all_in_one", 1, 1, 0, 4, 1, 1, 1, "2990.00", "2021-01-15", "2024-06-30", "2023-11-01"),
    ("GD-2023-02", "1", "深圳市锐明技术股份有限公司", "M1N-ADAS-6B", "split", 1, 1, 1, 6, 1, 1, 1, "4390.00", "2023-03-01", "2027-02-28", ""),
    ("GD-2023-02", "1", "杭州海康汽车软件有限公司", "AE-MD5020", "all_in_one", 1, 1, 0, 4, 1, 1, 1, "3360.00", "2023-03-01", "2027-02-28", ""),
    ("GD-2023-02", "2", "江苏本能科技有限公司", "BN-AS8", "split", 1, 1, 1, 8, 1, 1, 1, "5120.00", "2023-03-01", "2027-02-28", ""),
)

SURNAMES = "陈林黄李张吴郑蔡许王刘杨谢洪丁詹余翁庄柯"
TRADE_WORDS = ("顺达", "通运", "恒发", "鸿运", "联运", "兴隆", "永盛", "汇通", "安达", "金凤", "韩江", "凤凰", "华侨", "瓷都", "粤东")
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _operator_name(rng, county_name, i):
    return f"潮州市{county_name[:2]}{rng.choice(TRADE_WORDS)}{rng.choice(('物流', '运输', '货运'))}有限公司{i:03d}" if rng.random() < 0.7 \
        else f"{rng.choice(SURNAMES)}{rng.choice('志伟建国明华德文海强')}{rng.choice('强锋平辉军兴')}（个体运输户{i:03d}）"


def _plate(rng, used):
    while True:
        body = "".join(rng.choice("0123456789" if k else "0123456789" + PLATE_LETTERS) for k in range(5))
        plate = "粤U" + body
        if plate not in used:
            used.add(plate)
            return plate
