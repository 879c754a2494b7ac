"""Messages from Jinja2 templates: one file per event type and language
(`templates/<lang>/<event type>.j2`), one block per channel family:

  subject   e-mail subject, robot titles, the log line
  text      e-mail body, webhook and Feishu text
  markdown  DingTalk and WeCom robots
  sms       short text for the SMS gateway

Variables: `d` (the cause's payload, JSON-shaped), `links` (`case`, `ack`), `drill`.
Events carry no complainant data, so no template can show any (保密原则).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notify_svc.ack_tokens import AckTokens
from notify_svc.models import Delivery

TEMPLATES = Path(__file__).with_name("templates")
BLOCKS = ("subject", "text", "markdown", "sms")

LABELS: dict[str, dict[str, Any]] = {
    "zh": {
        "level": {1: "一级", 2: "二级", 3: "三级", 4: "四级"},
        "category": {
            "product_quality": "产品质量", "service_attitude": "服务态度",
            "after_sales": "售后服务", "billing": "价格/计费", "contract": "合同",
            "process": "业务流程", "privacy": "数据隐私/安全", "safety": "安全隐患",
            "legal": "法律/监管", "other": "其他",
        },
        "clock": {"acknowledge_by": "确认时限", "first_contact_by": "首次联系时限",
                  "report_by": "上报时限", "resolve_by": "办结时限",
                  "acknowledge": "确认", "first_contact": "首次联系", "report": "上报",
                  "resolve": "办结", "plan": "处理方案时限",
                  "media_report": "媒体投诉报客户经理（0.5小时）",
                  "media_account": "媒体投诉登记表报综合部（1小时）",
                  "media_solution": "媒体投诉解决方案（4小时）",
                  "media_company_team": "公司级媒体投诉处理小组（1小时）"},
        "kind": {"group": "群体投诉", "public_opinion": "舆情"},
    },
    "en": {
        "level": {1: "Level 1", 2: "Level 2", 3: "Level 3", 4: "Level 4"},
        "category": {
            "product_quality": "product quality", "service_attitude": "service attitude",
            "after_sales": "after-sales", "billing": "price/billing", "contract": "contract",
            "process": "business process", "privacy": "data privacy/security",
            "safety": "safety hazard", "legal": "legal/regulatory", "other": "other",
        },
        "clock": {"acknowledge_by": "acknowledge by", "first_contact_by": "first contact by",
                  "report_by": "report up by", "resolve_by": "resolve by",
                  "acknowledge": "acknowledge", "first_contact": "first contact",
                  "report": "report up", "resolve": "resolve",
                  "plan": "handling plan deadline",
                  "media_report": "media complaint to the account manager (0.5 h)",
                  "media_account": "media complaint form to general affairs (1 h)",
                  "media_solution": "media complaint's agreed solution (4 h)",
                  "media_company_team": "company media-complaint team (1 h)"},
        "kind": {"group": "group complaint", "public_opinion": "public opinion"},
    },
}


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    markdown: str
    sms: str


class Templates:
    def __init__(self, timezone: str, directory: Path = TEMPLATES) -> None:
        self.zone = ZoneInfo(timezone)
        self.env = Environment(
            loader=FileSystemLoader(directory), undefined=StrictUndefined,
            autoescape=select_autoescape(["html", "html.j2"]), trim_blocks=True, lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["local"] = self._local

    def _local(self, value: str | datetime | None) -> str:
        if value is None:
            return "-"
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def render(self, event_type: str, language: str, variables: dict[str, Any]) -> Message:
        template = self.env.get_template(f"{language}/{event_type}.j2")
        context = template.new_context({**variables, "L": LABELS[language]})
        parts = {name: "".join(template.blocks[name](context)).strip() for name in BLOCKS}
        return Message(**parts)

    def page(self, name: str, variables: dict[str, Any]) -> str:
        return self.env.get_template(name).render(**variables)


class Renderer:
    """A delivery's message in its language, with its links (the acknowledgement one too)."""

    def __init__(self, templates: Templates, tokens: AckTokens, base: str) -> None:
        self.templates, self.tokens, self.base = templates, tokens, base

    def render(self, d: Delivery, language: str | None = None) -> Message:
        if d.channel == "callback":
            return Message("", "", "", "")
        return self.templates.render(d.event_type, language or d.language, {
            "d": d.context, "links": self.links(d), "drill": bool(d.context.get("drill")),
        })

    def links(self, d: Delivery) -> dict[str, str]:
        base = self.base
        return {
            "base": base,
            "case": f"{base}/api/v1/cases/{d.case_id}",
            "incident": f"{base}/api/v1/incidents/{d.incident_id}",
            "statement": f"{base}/api/v1/statements/{d.statement_id}",
            "ack": self.ack_url(d.id),
        }

    def ack_url(self, delivery_id: str) -> str:
        token = quote(self.tokens.token_for(delivery_id))
        return f"{self.base}/api/v1/notifications/ack?token={token}"
