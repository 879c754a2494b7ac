"""Personal data typed into free text: phone numbers, ID numbers, e-mail addresses and bank
card numbers, found so they can be masked (with shared.privacy's masks) before the text is
shown to a caller without `pii:read`, put on the bus or stored in clear.

Each finder is strict where a loose one would mask ordinary numbers: an 18-digit ID number
needs a province code, a real birth date and its check digit (GB 11643); a 15-digit one a
province code and a birth date; a card number a card's leading digit and the Luhn check; a
phone number the shape of a Chinese mobile, a landline with its area code, or a `+`
international number. Order numbers, dates, amounts and short service numbers (12315) stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from shared.privacy import mask_card_number, mask_email, mask_id_number, mask_phone

# No digit, Latin letter or digit-joining mark just before or after a number, nor a digit
# one separator away (a group of a longer number: 6222 0212 3456 ...).
_BEFORE = r"(?<![0-9A-Za-z+\-])(?<!\d[ \-])"
_AFTER = r"(?![0-9A-Za-z])(?![ \-]\d)"
_SEP = r"[ \-]?"

# Latin only around an address: Chinese text runs straight into it (邮箱a@b.cn联系).
EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                   r"\.[A-Za-z]{2,}(?![A-Za-z0-9-])")
ID_18 = re.compile(_BEFORE + r"\d{17}[\dXx]" + _AFTER)
ID_15 = re.compile(_BEFORE + r"\d{15}" + _AFTER)
CARD = re.compile(_BEFORE + r"\d{4}(?:[ \-]?\d{4}){2}(?:[ \-]?\d{1,4}){1,2}" + _AFTER)
MOBILE = re.compile(_BEFORE + r"(?:(?:\+|00)86" + _SEP + r")?1[3-9]\d" + _SEP + r"\d{4}"
                    + _SEP + r"\d{4}" + _AFTER)
LANDLINE = re.compile(_BEFORE + r"(?:\(0\d{2,3}\)" + _SEP + r"|0\d{2,3}[ \-]?)"
                      r"[2-9]\d{2,3}[ \-]?\d{4}" + _AFTER)
INTERNATIONAL = re.compile(r"(?<![0-9A-Za-z+])(?<!\d[ \-])\+[1-9]\d{0,2}(?:[ \-]?\(?\d{1,4}\)?)"
                           r"(?:[ \-]?\d{2,4}){2,4}" + _AFTER)

# First two digits of the provinces (GB/T 2260), Taiwan, Hong Kong and Macao.
PROVINCES = frozenset({11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42,
                       43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
                       83, 91})
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
# Leading digits of card schemes issued in China and abroad: UnionPay 62 (and 60, 65, 68,
# 81), Visa 4, Mastercard 51-55 and 22-27, Amex 34/37, JCB 35, ICBC's old 9558.
CARD_PREFIX = re.compile(r"^(?:62|60|65|68|81|4|5[1-5]|2[2-7]|3[457]|9558)")


@dataclass(frozen=True)
class Found:
    kind: str  # phone, id_number, email, bank_card
    start: int
    end: int
    text: str


def _birth_date(year: int, month: int, day: int) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date.today()


def valid_id_18(number: str) -> bool:
    """A resident ID number (GB 11643): province, birth date and check digit."""
    if not re.fullmatch(r"\d{17}[\dXx]", number) or int(number[:2]) not in PROVINCES:
        return False
    if not _birth_date(int(number[6:10]), int(number[10:12]), int(number[12:14])):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11] == number[17].upper()


def valid_id_15(number: str) -> bool:
    """The first-generation ID number: province and a 19xx birth date (no check digit)."""
    if not re.fullmatch(r"\d{15}", number) or int(number[:2]) not in PROVINCES:
        return False
    return _birth_date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))


def luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def valid_card(number: str) -> bool:
    digits = re.sub(r"[ \-]", "", number)
    return 13 <= len(digits) <= 19 and bool(CARD_PREFIX.match(digits)) and luhn(digits)


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _candidates(text: str) -> list[Found]:
    found = [Found("email", m.start(), m.end(), m.group()) for m in EMAIL.finditer(text)]
    found += [Found("id_number", m.start(), m.end(), m.group())
              for m in ID_18.finditer(text) if valid_id_18(m.group())]
    found += [Found("id_number", m.start(), m.end(), m.group())
              for m in ID_15.finditer(text) if valid_id_15(m.group())]
    found += [Found("bank_card", m.start(), m.end(), m.group())
              for m in CARD.finditer(text) if valid_card(m.group())]
    found += [Found("phone", m.start(), m.end(), m.group()) for m in MOBILE.finditer(text)]
    found += [Found("phone", m.start(), m.end(), m.group()) for m in LANDLINE.finditer(text)]
    found += [Found("phone", m.start(), m.end(), m.group())
              for m in INTERNATIONAL.finditer(text) if 8 <= _digits(m.group()) <= 15]
    return found


def find(text: str | None) -> list[Found]:
    """Every piece of personal data in `text`, in order, none overlapping (the longest wins
    where two finders claim the same characters)."""
    if not text:
        return []
    chosen: list[Found] = []
    for item in sorted(_candidates(text), key=lambda f: (-(f.end - f.start), f.start)):
        if all(item.end <= c.start or item.start >= c.end for c in chosen):
            chosen.append(item)
    return sorted(chosen, key=lambda f: f.start)


MASKS = {"phone": mask_phone, "id_number": mask_id_number, "email": mask_email,
         "bank_card": mask_card_number}


def mask_text(text: str) -> str:
    """The text with each piece of personal data masked as its complainant field would be."""
    out, last = [], 0
    for item in find(text):
        out += [text[last:item.start], MASKS[item.kind](item.text) or ""]
        last = item.end
    out.append(text[last:])
    return "".join(out)


def mask_optional(text: str | None) -> str | None:
    return None if text is None else mask_text(text)
