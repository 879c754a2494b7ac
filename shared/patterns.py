"""Regular expressions that mean the same to pydantic (Rust `regex`) and to the readers of
the published OpenAPI (ECMAScript): the two disagree on `\\s` (U+0085 is whitespace only to
Rust, U+FEFF only to ECMAScript), so spaces are spelled out as their union."""

SPACE = r"\s\x85\ufeff"
# Zero-width characters (U+200B-U+200D, U+2060; U+FEFF is in SPACE) show nothing either.
INVISIBLE = r"\u200b-\u200d\u2060"
NOT_BLANK = rf"[^{SPACE}{INVISIBLE}]"  # at least one visible character somewhere
EMAIL = rf"^[^@{SPACE}]+@[^@{SPACE}]+\.[^@{SPACE}]+$"
LOOSE_EMAIL = rf"^[^@{SPACE}]+@[^@{SPACE}]+$"
HTTP_URL = rf"^https?://[^{SPACE}]+$"
