"""The templates keep to what the Content-Security-Policy allows (src/xiuhua/http/headers.py):
scripts only from files, data only in ``<script type="application/json">`` blocks, no inline
event handler (``onclick=``, htmx's ``hx-on``), no ``style`` attribute or element, no
``javascript:`` URL. The browser tests find a violation on the pages they walk; this finds it
in every template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xiuhua.web.pages import STATIC_DIR

ROOT = Path(STATIC_DIR).parent / "templates"
TEMPLATES = sorted(ROOT.rglob("*.html"))
COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
FORBIDDEN = {
    "inline event handler": re.compile(r"""\son[a-z]+\s*=\s*["'{]""", re.IGNORECASE),
    "htmx hx-on handler": re.compile(r"\s(?:data-)?hx-on", re.IGNORECASE),
    "style attribute": re.compile(r"""\sstyle\s*=\s*["'{]""", re.IGNORECASE),
    "style element": re.compile(r"<style\b", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def test_there_are_templates() -> None:
    assert len(TEMPLATES) > 20


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_template_has_nothing_the_policy_refuses(path: Path) -> None:
    text = COMMENT.sub("", path.read_text(encoding="utf-8"))
    for attributes in SCRIPT.findall(text):
        assert "src=" in attributes or 'type="application/json"' in attributes, \
            f"{path.relative_to(ROOT)}: inline <script{attributes}>"
    for what, pattern in FORBIDDEN.items():
        found = pattern.search(text)
        assert found is None, f"{path.relative_to(ROOT)}: {what}: {found.group(0) if found else ''}"
