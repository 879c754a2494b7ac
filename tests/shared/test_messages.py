"""Validation errors in plain words, English or Chinese by Accept-Language, in the problem
shape the API promises (type, title, status, detail, errors of {field, message})."""

from __future__ import annotations

from shared.messages import BY_PATTERN, language_of
from shared.patterns import NOT_BLANK
from tests.support import System

BLANK = {"channel": "hotline", "content": " \t\u3000 "}


async def test_a_blank_content_is_refused_in_words_not_a_regex(system: System) -> None:
    answer = await system.client.post("/api/v1/complaints", json=BLANK)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert set(body) == {"type", "title", "status", "detail", "errors"}
    assert body["detail"] == "invalid input: content"
    assert body["errors"] == [{"field": "content", "message": "must contain a visible "
                               "character, not only spaces or zero-width characters"}]
    assert NOT_BLANK not in answer.text and "pattern" not in answer.text


async def test_chinese_when_the_caller_asks_for_it(system: System) -> None:
    answer = await system.client.post(
        "/api/v1/complaints", json={**BLANK, "complainant": {"email": "nobody"}},
        headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    body = answer.json()
    assert body["detail"] == "输入无效：content, complainant.email"
    assert {e["field"]: e["message"] for e in body["errors"]} == {
        "content": "不能为空，也不能只有空白或零宽字符",
        "complainant.email": "须为电子邮件地址，如 a@b.c"}
    unknown = await system.client.post("/api/v1/statements", json={
        "title": "t", "text": "x", "incident": "oops"}, headers={"Accept-Language": "zh"})
    assert unknown.json()["errors"] == [
        {"field": "incident", "message": "不是此请求的字段（不接受未知字段）"}]
    short = await system.client.get("/api/v1/cases", params={"limit": 0})
    assert short.json()["errors"] == [{"field": "query.limit", "message": "must be at least 1"}]


def test_the_language_follows_the_callers_preference() -> None:
    assert language_of(None) == language_of("") == language_of("de, fr;q=0.8") == "en"
    assert language_of("zh-CN") == language_of("en;q=0.4, zh-Hans;q=0.9") == "zh"
    assert language_of("zh;q=0.2, en") == language_of("zh;q=bad, en") == "en"
    # Every shared pattern has words in both languages.
    assert all(en and zh and en != zh for en, zh in BY_PATTERN.values())
