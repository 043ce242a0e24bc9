"""The house rules (README "Layout") as import contracts, checked by import-linter
(pyproject.toml [tool.importlinter]): apps import only downwards, tracking reads catalog only,
the project package's plumbing imports no app, and no module cycle inside any package."""

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from visualshop.paths import BASE_DIR

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = [
    "catalog",
    "vision",
    "search",
    "storefront",
    "api",
    "orders",
    "tracking",
    "ranking",
    "simulation",
    "visualshop",
]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_tree_keeps_every_contract():
    result = lint_imports(BASE_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


@pytest.fixture
def tree_copy(tmp_path) -> Path:
    """The apps' Python files and the contracts, copied: a test may break the copy."""
    for package in PACKAGES:
        shutil.copytree(
            BASE_DIR / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.html", "*.js", "*.css", "*.json"),
        )
    shutil.copy(BASE_DIR / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def append_import(module_file: Path, statement: str) -> None:
    module_file.write_text(module_file.read_text() + f"\n{statement}\n")


def test_an_import_against_the_direction_breaks_the_layers(tree_copy):
    append_import(tree_copy / "catalog" / "models.py", "import search.models  # noqa")
    result = lint_imports(tree_copy)
    assert result.returncode == 1
    assert "Contracts: 3 kept, 1 broken." in result.stdout
    assert "catalog.models -> search.models" in result.stdout


def test_a_cycle_inside_an_app_breaks_the_acyclic_contract(tree_copy):
    # vision.pipeline imports vision.decoding; the reverse import closes a cycle.
    append_import(tree_copy / "vision" / "decoding.py", "import vision.pipeline  # noqa")
    result = lint_imports(tree_copy)
    assert result.returncode == 1
    assert "No cycles are allowed in vision." in result.stdout


def test_plumbing_that_imports_an_app_breaks_its_contract(tree_copy):
    append_import(tree_copy / "visualshop" / "rate_limits.py", "import catalog.models  # noqa")
    result = lint_imports(tree_copy)
    assert result.returncode == 1
    assert "visualshop.rate_limits -> catalog.models" in result.stdout


def test_every_package_with_tests_is_in_pytests_testpaths():
    """`make test` runs pytest's testpaths only: a package left out has its tests never run."""
    config = configparser.ConfigParser()
    config.read(BASE_DIR / "pytest.ini")
    listed = set(config["pytest"]["testpaths"].split())
    with_tests = {path.parent.name for path in BASE_DIR.glob("*/tests") if path.is_dir()}
    with_tests |= {path.name for path in BASE_DIR.glob("*_tests") if path.is_dir()}
    assert with_tests - listed == set()
