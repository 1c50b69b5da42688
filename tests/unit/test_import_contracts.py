"""The layers declared in pyproject.toml ([tool.importlinter]) hold: ``lint-imports`` passes on
the tree, and fails, naming the contract, when a page module imports the API (a copy of the
tree with that one line added, checked with the same configuration)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "static", "templates", "*.egg-info")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the project's contracts on the packages under ``tree``."""
    assert LINT_IMPORTS.exists(), "lint-imports is missing: make dev installs the dev extras"
    env = {**os.environ, "PYTHONPATH": str(tree), "NO_COLOR": "1"}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(CONFIG), "--no-cache"], cwd=tree,
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def copy_tree(to: Path) -> Path:
    shutil.copytree(ROOT / "src" / "xiuhua", to / "xiuhua", ignore=SKIP)
    shutil.copytree(ROOT / "bench", to / "bench", ignore=SKIP)
    return to


def test_the_tree_keeps_every_contract() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_the_copy_keeps_them_too(tmp_path: Path) -> None:
    """The copy is what the next test breaks: unbroken, it passes (so the failure below is the
    added import's, not the copy's)."""
    run = lint_imports(copy_tree(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr


def broken_after_adding(tmp_path: Path, module: str, line: str) -> str:
    """The broken contracts ``lint-imports`` reports once ``line`` is appended to ``module``
    (a path under ``xiuhua/``) of a copy of the tree; it must fail."""
    tree = copy_tree(tmp_path)
    path = tree / "xiuhua" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    run = lint_imports(tree)
    assert run.returncode != 0
    return run.stdout.split("Broken contracts", 1)[-1]


def test_a_page_importing_the_api_breaks_the_contracts(tmp_path: Path) -> None:
    broken = broken_after_adding(tmp_path, "web/views.py", "import xiuhua.api.cases")
    assert "api and web are independent of each other" in broken
    assert "xiuhua.web.views -> xiuhua.api.cases" in broken


def test_a_service_importing_fastapi_breaks_the_contracts(tmp_path: Path) -> None:
    broken = broken_after_adding(tmp_path, "services/tasks.py", "import fastapi")
    assert "services import store and domain, nothing of HTTP" in broken
