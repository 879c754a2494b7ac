"""The acknowledgement page: its language (`?lang`, else Accept-Language, else the
recipient's), local times in NOTIFY_TIMEZONE, and what is still due on the case."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from notify_svc.models import Delivery
from notify_svc.templating import LABELS

LANGUAGES = ("zh", "en")
TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "确认收到", "html_lang": "zh-CN",
        "explain": "点击按钮确认收到（打开链接或链接预览不会自动确认）。",
        "button": "确认收到", "working": "正在确认…", "done": "已确认",
        "acknowledged": "已于 {at} 由 {by} 确认。",
        "case_acknowledged": "该案件已确认受理。", "still_due": "仍需完成：",
        "nothing_due": "该案件暂无其他待办时限。", "due_now": "该案件的时限：",
        "overdue": "已超时", "times": "时间为 {zone} 时间。", "other": "English",
        "expired": "此确认链接已于 {at} 过期，请在指挥中心确认或致电值班室。",
    },
    "en": {
        "title": "Acknowledge", "html_lang": "en",
        "explain": "Press the button to acknowledge; opening the link (or a preview of it) "
                   "does not.",
        "button": "Acknowledge", "working": "Acknowledging…", "done": "Acknowledged",
        "acknowledged": "Acknowledged at {at} by {by}.",
        "case_acknowledged": "The case is acknowledged.", "still_due": "Still due:",
        "nothing_due": "Nothing else is due on this case.", "due_now": "Deadlines on this case:",
        "overdue": "overdue", "times": "Times are in {zone}.", "other": "中文",
        "expired": "This acknowledgement link expired at {at}; acknowledge in the command "
                   "center or call the duty desk.",
    },
}


def language(asked: str | None, accept_language: str | None, fallback: str) -> str:
    """`?lang` if it names one we have, else the best of Accept-Language, else fallback."""
    if asked in LANGUAGES:
        return asked
    best: tuple[float, str] | None = None
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if quality > 0 and (best is None or quality > best[0]):
            best = (quality, primary)
    return best[1] if best else (fallback if fallback in LANGUAGES else "zh")


def context(row: Delivery, *, subject: str, token: str, lang: str, zone: ZoneInfo,
            still_due: list[dict[str, str]] | None, now: dt.datetime,
            expired: dt.datetime | None = None) -> dict[str, Any]:
    """The template's variables: every time already local and formatted."""
    text = TEXT[lang]

    def local(moment: dt.datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    due = [{"what": LABELS[lang]["clock"].get(d["clock"], d["clock"]),
            "at": local(dt.datetime.fromisoformat(d["due_at"])),
            "overdue": dt.datetime.fromisoformat(d["due_at"]) < now}
           for d in still_due or []]
    acknowledged = None
    if row.acknowledged_at is not None:
        acknowledged = text["acknowledged"].format(at=local(row.acknowledged_at),
                                                   by=row.acknowledged_by or row.recipient)
    return {"t": text, "lang": lang, "other_lang": "en" if lang == "zh" else "zh",
            "subject": subject, "token": token, "acknowledged": acknowledged,
            "about_case": still_due is not None, "due": due,
            "expired": text["expired"].format(at=local(expired)) if expired else None,
            "zone": text["times"].format(zone=zone.key)}
