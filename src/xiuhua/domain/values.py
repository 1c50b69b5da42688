"""Values read from outside (query strings, forms, files): strict forms only.

``int()`` and ``str.isdigit()`` accept more than a person types: ``int("٣")`` and ``int("１")``
are 3 and 1, ``"²".isdigit()`` is true yet ``int("²")`` fails, and ``int("1_000")`` is 1000.
Numbers taken from a request are ASCII digits, and short enough for a 64-bit column."""

from __future__ import annotations

import re

_WHOLE = re.compile(r"[0-9]{1,18}")


def whole_number(text: str | None) -> int | None:
    """The unsigned whole number written in ASCII digits (surrounding blanks allowed), else None."""
    value = (text or "").strip()
    return int(value) if _WHOLE.fullmatch(value) else None
