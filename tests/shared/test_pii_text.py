"""The free-text personal-data finder: what it finds, what it must leave alone, and how it
masks (as the complainant fields are masked)."""

from __future__ import annotations

import pytest

from shared.pii_text import find, luhn, mask_text, valid_card, valid_id_15, valid_id_18

# GB 11643's own example, and one more whose check digit was worked by hand.
ID_X = "11010519491231002X"
ID_7 = "440308199901011517"
CARD = "6222021234567894"  # UnionPay, Luhn-valid
VISA = "4111111111111111"


def kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in find(text)]


@pytest.mark.parametrize("number", [ID_X, ID_X.lower(), ID_7])
def test_id_numbers_with_their_check_digit_are_valid(number: str) -> None:
    assert valid_id_18(number)


@pytest.mark.parametrize("number", [
    "110105194912310021",  # wrong check digit
    "440308199901011512",  # wrong check digit
    "990105194912310024",  # no such province
    "110105194913310025",  # month 13
    "110105180012310020",  # born before 1900
])
def test_id_numbers_failing_a_check_are_not(number: str) -> None:
    assert not valid_id_18(number)


def test_fifteen_digit_ids_need_a_province_and_a_birth_date() -> None:
    assert valid_id_15("110105491231002")
    assert not valid_id_15("110105491331002")  # month 13
    assert not valid_id_15("990105491231002")


def test_luhn() -> None:
    assert luhn(CARD) and luhn(VISA) and luhn("79927398713")
    assert not luhn("6222021234567895") and not luhn("79927398710")
    assert valid_card("4111 1111 1111 1111") and valid_card("6222-0212-3456-7894")
    assert not valid_card("2024031512345678")  # Luhn or not, no card starts with 20


@pytest.mark.parametrize(("text", "found"), [
    ("电话13812345678请回电", [("phone", "13812345678")]),
    ("手机 138-1234-5678", [("phone", "138-1234-5678")]),
    ("call +86 139 8765 4321", [("phone", "+86 139 8765 4321")]),
    ("座机010-62345678", [("phone", "010-62345678")]),
    ("座机(0755) 8888 1234", [("phone", "(0755) 8888 1234")]),
    ("London +44 20 7946 0958.", [("phone", "+44 20 7946 0958")]),
    (f"身份证号{ID_X}。", [("id_number", ID_X)]),
    ("老身份证110105491231002", [("id_number", "110105491231002")]),
    ("邮箱zhang.san@example.com联系", [("email", "zhang.san@example.com")]),
    (f"卡号{CARD}", [("bank_card", CARD)]),
    ("卡号 4111 1111 1111 1111 被盗刷", [("bank_card", "4111 1111 1111 1111")]),
])
def test_it_finds_personal_data_in_text(text: str, found: list[tuple[str, str]]) -> None:
    assert kinds(text) == found


@pytest.mark.parametrize("text", [
    "拨打12315投诉",  # a service number
    "订单号202403151234567890未发货",  # an order number (18 digits, no province 20)
    "订单号2024031512345678",  # 16 digits from a date: no card starts so
    "快递单号SF1234567890123",  # letters join it
    "日期2024-03-15，时间10:30",
    "金额12345678.90元，共3件",
    "身份证110105194912310021",  # the check digit is wrong
    "卡号6222021234567895",  # fails Luhn
    "10086和95588是客服电话",
    "邮编100086",
])
def test_it_leaves_near_misses_alone(text: str) -> None:
    assert find(text) == []
    assert mask_text(text) == text


def test_masking_hides_each_piece_as_its_field_mask_does() -> None:
    text = f"我叫张三，电话13812345678，身份证{ID_X}，邮箱alice@example.com，卡{CARD}"
    masked = mask_text(text)
    assert masked == ("我叫张三，电话138****5678，身份证11**************2X，"
                      "邮箱a****@example.com，卡************7894")
    for raw in ("13812345678", ID_X, "alice@", CARD):
        assert raw not in masked
    assert len(masked) == len(text)  # masked text still fits the column it came for


def test_two_numbers_one_run_are_one_finding() -> None:
    # A phone-shaped slice of a longer digit run is not a phone number.
    assert kinds("编号1381234567890123") == []
    assert kinds("号码 13812345678、13987654321") == [
        ("phone", "13812345678"), ("phone", "13987654321")]
