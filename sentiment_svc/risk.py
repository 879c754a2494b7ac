"""Risk of one mention (1 most severe … 4), as points with a reason per contribution.

Points: negative sentiment up to 35, source weight up to 25 (national news above local news
above social media above forums), reach up to 25 (log scale, since reach spans six orders of
magnitude), sensitive terms up to 35 (the plans name 曝光, 维权, 集体, 起诉, 315, 记者; deaths,
injuries, leaks and regulators weigh as much). Positive mentions lose points: praise that
names a journalist is not a crisis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlsplit

NATIONAL_NEWS = ("people.com.cn", "xinhuanet.com", "news.cn", "cctv.com", "cctv.cn",
                 "chinadaily.com.cn", "china.com.cn", "gmw.cn", "chinanews.com", "chinanews.com.cn",
                 "thepaper.cn", "caixin.com", "cnr.cn", "ce.cn", "youth.cn", "bjnews.com.cn",
                 "reuters.com", "bbc.co.uk", "bbc.com", "nytimes.com", "apnews.com")
SOURCE_POINTS = {"news": 18, "weibo": 12, "wechat": 12, "video": 12, "hotline_board": 10,
                 "forum": 8, "blog": 6, "other": 4}
NATIONAL_POINTS = 25

TERMS = {
    "曝光": 8, "维权": 8, "集体": 8, "起诉": 8, "315": 8, "记者": 8, "泄露": 10, "死亡": 15,
    "身亡": 15, "爆炸": 12, "受伤": 10, "中毒": 12, "律师": 6, "法院": 6, "举报": 6,
    "市场监管": 8, "市场监督管理": 8, "消费者协会": 6, "消协": 6, "12315": 8, "银保监": 8,
    "金融监管": 8, "网信办": 8, "工信部": 8, "证监会": 8, "卫健委": 8, "召回": 6,
    "journalist": 8, "reporter": 8, "lawsuit": 8, "sue ": 8, "court": 6, "class action": 10,
    "regulator": 8, "died": 15, "death": 15, "injured": 10, "hospitalised": 10,
    "hospitalized": 10, "leak": 10, "breach": 10, "exposed": 8, "recall": 6, "protest": 8,
}
TERMS_CAP, REACH_CAP, SENTIMENT_MAX = 35, 25, 35
LEVEL_FLOORS = ((70, 1), (50, 2), (30, 3))


@dataclass(frozen=True)
class Risk:
    level: int
    score: int
    reasons: list[str]


def source_points(source: str, url: str | None) -> tuple[int, str]:
    host = (urlsplit(url).hostname or "") if url else ""
    if source == "news" and any(host == d or host.endswith("." + d) for d in NATIONAL_NEWS):
        return NATIONAL_POINTS, f"source: national news ({host})"
    label = "local/other news" if source == "news" else source
    return SOURCE_POINTS.get(source, 4), f"source: {label}"


def reach_points(reach: dict[str, int]) -> tuple[int, str]:
    """Weighted audience: a repost spreads further than a like; views are cheap."""
    audience = (reach.get("followers", 0) / 100 + reach.get("reposts", 0) * 5
                + reach.get("comments", 0) * 3 + reach.get("likes", 0)
                + reach.get("views", 0) / 100)
    points = min(REACH_CAP, round(5 * math.log10(1 + audience)))
    shown = ", ".join(f"{k} {v:,}" for k, v in reach.items() if v)
    return points, f"reach: {shown or 'none reported'}"


def term_points(text: str) -> tuple[int, list[str]]:
    lowered = text.lower()
    found = [term for term in TERMS if term in lowered]
    # "市场监督管理" contains no "市场监管", but "12315" contains "315": count the longer only.
    found = [t for t in found if not any(t != o and t in o for o in found)]
    return min(TERMS_CAP, sum(TERMS[t] for t in found)), found


def assess(label: str, score: float, source: str, url: str | None, reach: dict[str, int],
           text: str) -> Risk:
    reasons: list[str] = []
    total = 0
    if label == "negative":
        # The score is calibrated: its size tracks how negative the text is (harm named,
        # emphasis), so points follow it; a floor keeps any complaint above none.
        points = round(SENTIMENT_MAX * min(1.0, max(0.3, abs(score))))
        reasons.append(f"sentiment negative ({score:+.2f}): +{points}")
        total += points
    elif label == "positive":
        reasons.append(f"sentiment positive ({score:+.2f}): -10")
        total -= 10
    points, why = source_points(source, url)
    reasons.append(f"{why}: +{points}")
    total += points
    points, why = reach_points(reach)
    reasons.append(f"{why}: +{points}")
    total += points
    points, terms = term_points(text)
    if terms:
        reasons.append(f"sensitive terms {', '.join(terms)}: +{points}")
        total += points
    total = max(0, min(100, total))
    level = next((lvl for floor, lvl in LEVEL_FLOORS if total >= floor), 4)
    reasons.append(f"total {total}/100 -> level {level}")
    return Risk(level, total, reasons)
