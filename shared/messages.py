"""Validation errors in plain words, English or Chinese: pydantic's own messages name
regular expressions and internal types ("String should match pattern '[^\\s…]'"), which
tell a caller nothing. A message never carries the rejected value (it may be personal data)."""

from __future__ import annotations

from typing import Any, Literal

from shared import patterns
from shared.paging import CURSOR_PATTERN

Language = Literal["en", "zh"]

# pydantic error type -> (English, Chinese); `{name}` fields come from the error's ctx.
BY_TYPE: dict[str, tuple[str, str]] = {
    "missing": ("required", "必填"),
    "extra_forbidden": ("not a field of this request (unknown fields are refused)",
                        "不是此请求的字段（不接受未知字段）"),
    "string_too_short": ("must have at least {min_length} character(s)",
                         "至少 {min_length} 个字符"),
    "string_too_long": ("must have at most {max_length} characters", "最多 {max_length} 个字符"),
    "too_short": ("must have at least {min_length} item(s)", "至少 {min_length} 项"),
    "too_long": ("must have at most {max_length} items", "最多 {max_length} 项"),
    "greater_than_equal": ("must be at least {ge}", "不能小于 {ge}"),
    "less_than_equal": ("must be at most {le}", "不能大于 {le}"),
    "greater_than": ("must be more than {gt}", "必须大于 {gt}"),
    "less_than": ("must be less than {lt}", "必须小于 {lt}"),
    "literal_error": ("must be one of {expected}", "必须是以下之一：{expected}"),
    "enum": ("must be one of {expected}", "必须是以下之一：{expected}"),
    "int_parsing": ("must be a whole number", "必须是整数"),
    "int_type": ("must be a whole number", "必须是整数"),
    "int_from_float": ("must be a whole number", "必须是整数"),
    "float_parsing": ("must be a number", "必须是数字"),
    "float_type": ("must be a number", "必须是数字"),
    "bool_parsing": ("must be true or false", "必须是 true 或 false"),
    "bool_type": ("must be true or false", "必须是 true 或 false"),
    "string_type": ("must be text", "必须是文本"),
    "datetime_parsing": ("must be a date and time (ISO 8601, such as 2025-01-31T08:00:00+08:00)",
                         "必须是日期时间（ISO 8601，如 2025-01-31T08:00:00+08:00）"),
    "datetime_from_date_parsing": (
        "must be a date and time (ISO 8601, such as 2025-01-31T08:00:00+08:00)",
        "必须是日期时间（ISO 8601，如 2025-01-31T08:00:00+08:00）"),
    "datetime_type": ("must be a date and time (ISO 8601)", "必须是日期时间（ISO 8601）"),
    "date_parsing": ("must be a date (YYYY-MM-DD)", "必须是日期（YYYY-MM-DD）"),
    "date_from_datetime_parsing": ("must be a date (YYYY-MM-DD)", "必须是日期（YYYY-MM-DD）"),
    "date_type": ("must be a date (YYYY-MM-DD)", "必须是日期（YYYY-MM-DD）"),
    "model_type": ("must be an object", "必须是对象"),
    "model_attributes_type": ("must be an object", "必须是对象"),
    "dict_type": ("must be an object", "必须是对象"),
    "list_type": ("must be a list", "必须是列表"),
    "union_tag_invalid": ("is not one of the accepted forms", "不是可接受的格式"),
    "json_invalid": ("not valid JSON", "不是有效的 JSON"),
}
# A pattern the caller cannot be expected to read, said in words.
BY_PATTERN: dict[str, tuple[str, str]] = {
    patterns.NOT_BLANK: ("must contain a visible character, not only spaces or zero-width "
                         "characters", "不能为空，也不能只有空白或零宽字符"),
    patterns.EMAIL: ("must be an e-mail address such as a@b.c", "须为电子邮件地址，如 a@b.c"),
    patterns.LOOSE_EMAIL: ("must be an e-mail address such as a@b", "须为电子邮件地址，如 a@b"),
    patterns.HTTP_URL: ("must be an http:// or https:// address without spaces",
                        "须为不含空格的 http:// 或 https:// 地址"),
    CURSOR_PATTERN: ("must be the next_cursor of an earlier page", "须为上一页返回的 next_cursor"),
}
UNREADABLE_PATTERN = ("is not in the expected form", "格式不正确")
EMPTY = ("must not be empty", "不能为空")
INVALID = ("invalid", "无效")
DETAIL = ("invalid input: {fields}", "输入无效：{fields}")


def language_of(accept_language: str | None) -> Language:
    """zh when the caller's Accept-Language prefers a Chinese tag, else en."""
    best, best_q = "en", -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > best_q:
            best, best_q = tag.lower(), q
    return "zh" if best.startswith("zh") else "en"


def in_words(error: dict[str, Any], language: Language = "en") -> str:
    """One pydantic error as a plain message."""
    index = 1 if language == "zh" else 0
    kind, ctx = str(error.get("type", "")), error.get("ctx") or {}
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return EMPTY[index]
    if kind == "string_pattern_mismatch":
        return BY_PATTERN.get(str(ctx.get("pattern")), UNREADABLE_PATTERN)[index]
    if kind == "value_error":  # a validator's own words; the English prefix is noise
        message = str(error.get("msg", INVALID[0])).removeprefix("Value error, ")
        return message if language == "en" else f"{INVALID[1]}：{message}"
    if kind in BY_TYPE:
        try:
            return BY_TYPE[kind][index].format(**{k: str(v) for k, v in ctx.items()})
        except (KeyError, IndexError):
            pass
    return str(error.get("msg", INVALID[0])) if language == "en" else INVALID[1]


def detail(fields: str, language: Language = "en") -> str:
    return DETAIL[1 if language == "zh" else 0].format(fields=fields)
