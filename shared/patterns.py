"""Regular expressions that mean the same to pydantic (Rust `regex`) and to the readers of
the published OpenAPI (ECMAScript): the two disagree on `\\s` (U+0085 is whitespace only to
Rust, U+FEFF only to ECMAScript), so spaces are spelled out as their union."""

SPACE = r"\s\x85\ufeff"
NOT_BLANK = rf"[^{SPACE}]"  # at least one visible character somewhere
EMAIL = rf"^[^@{SPACE}]+@[^@{SPACE}]+\.[^@{SPACE}]+$"
LOOSE_EMAIL = rf"^[^@{SPACE}]+@[^@{SPACE}]+$"
HTTP_URL = rf"^https?://[^{SPACE}]+$"
