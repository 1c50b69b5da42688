"""Build src/xiuhua/data/region_boxes.csv: the bounding box of each province-level division of
China, keyed by its GB/T 2260 code, for the region import's "is the data where its code says?"
check (services/geofile.py).

Source: DCW-GMT (the Digital Chart of the World for GMT), as packaged by Debian (`gmt-dcw`),
licence LGPL-3+. Each state's polygon carries its extent as the `min`/`max` attributes of its
`<CC><ST>_lon` / `<CC><ST>_lat` variables; nothing else is read. No county- or prefecture-level
dataset with an open licence could be found in the registries this project reaches (the
county-level packages all republish AMap/DataV boundaries, "for learning and exchange only"),
hence province level: see src/xiuhua/data/region_boxes.md.

    apt-get install gmt-dcw && pip install h5py
    python scripts/build_region_boxes.py [/usr/share/gmt-dcw/dcw-gmt.nc]
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import h5py  # type: ignore[import-not-found]

DCW = Path("/usr/share/gmt-dcw/dcw-gmt.nc")
OUT = Path(__file__).resolve().parent.parent / "src" / "xiuhua" / "data" / "region_boxes.csv"

# DCW state code (ISO 3166-2:CN letters) -> (GB/T 2260 code, name).
PROVINCES = {
    "BJ": ("110000", "北京市"), "TJ": ("120000", "天津市"), "HE": ("130000", "河北省"),
    "SX": ("140000", "山西省"), "NM": ("150000", "内蒙古自治区"), "LN": ("210000", "辽宁省"),
    "JL": ("220000", "吉林省"), "HL": ("230000", "黑龙江省"), "SH": ("310000", "上海市"),
    "JS": ("320000", "江苏省"), "ZJ": ("330000", "浙江省"), "AH": ("340000", "安徽省"),
    "FJ": ("350000", "福建省"), "JX": ("360000", "江西省"), "SD": ("370000", "山东省"),
    "HA": ("410000", "河南省"), "HB": ("420000", "湖北省"), "HN": ("430000", "湖南省"),
    "GD": ("440000", "广东省"), "GX": ("450000", "广西壮族自治区"), "HI": ("460000", "海南省"),
    "CQ": ("500000", "重庆市"), "SC": ("510000", "四川省"), "GZ": ("520000", "贵州省"),
    "YN": ("530000", "云南省"), "XZ": ("540000", "西藏自治区"), "SN": ("610000", "陕西省"),
    "GS": ("620000", "甘肃省"), "QH": ("630000", "青海省"), "NX": ("640000", "宁夏回族自治区"),
    "XJ": ("650000", "新疆维吾尔自治区"), "TW": ("710000", "台湾省"),
    "HK": ("810000", "香港特别行政区"), "MO": ("820000", "澳门特别行政区"),
}
# DCW's Hainan stops at the main island; 三沙市 (the South China Sea islands) gets its own row,
# the customary extent of those islands, so that its data is not refused.
EXTRA = [("460300", "三沙市", 109.5, 3.5, 118.0, 17.5, "manual: South China Sea islands")]


def extent(nc: h5py.File, key: str) -> tuple[float, float, float, float]:
    lon, lat = nc[f"{key}_lon"].attrs, nc[f"{key}_lat"].attrs
    return (math.floor(float(lon["min"][0]) * 100) / 100, math.floor(float(lat["min"][0]) * 100) / 100,
            math.ceil(float(lon["max"][0]) * 100) / 100, math.ceil(float(lat["max"][0]) * 100) / 100)


def main(path: Path) -> None:
    with h5py.File(path, "r") as nc:
        version = nc.attrs["version"].decode()
        rows = [("100000", "中华人民共和国", *extent(nc, "CN"), f"DCW-GMT {version} CN")]
        rows += [(code, name, *extent(nc, f"CN{state}"), f"DCW-GMT {version} CN.{state}")
                 for state, (code, name) in sorted(PROVINCES.items(), key=lambda kv: kv[1][0])]
    rows += EXTRA
    with OUT.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["code", "name", "min_lon", "min_lat", "max_lon", "max_lat", "source"])
        writer.writerows(rows)
    print(f"{len(rows)} boxes -> {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DCW)
