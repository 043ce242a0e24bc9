"""Every module, file and folder the README and docs/ name exists: a moved or renamed module
fails here until the docs follow it."""

import re

import pytest

from visualshop.paths import BASE_DIR

DOCS = [BASE_DIR / "README.md", *sorted((BASE_DIR / "docs").glob("*.md"))]
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
    "bench",
    "fixtures",
    "hostile_tests",
    "browser_tests",
    "deploy",
    "templates",
    "static",
]
# Inside `code`: a dotted name starting with a package (search.reranking.rescore) or a path
# starting with one (vision/onnx_model/, catalog/importing/service.py).
CODE = re.compile(r"`([^`\n]+)`")
ANY_PACKAGE = "|".join(PACKAGES)
DOTTED = re.compile(rf"^(?:{ANY_PACKAGE})(?:\.\w+)+$")
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
MIGRATION = re.compile(r"^(\w+)\.(\d{4}_\w+)$")  # catalog.0006_display_derivatives
PATH = re.compile(rf"^(?:{ANY_PACKAGE})/[\w./-]*$")


def references(text: str) -> list[str]:
    found = []
    for span in CODE.findall(text):
        if span.split()[0] in HTTP_METHODS:  # an endpoint (`POST search/image`), not a file
            continue
        for word in re.split(r"[\s(),=:]+", span):
            word = word.rstrip(".")
            if DOTTED.match(word) or PATH.match(word):
                found.append(word)
    return found


def exists(reference: str) -> bool:
    if "/" in reference:
        return (BASE_DIR / reference).exists()
    if migration := MIGRATION.match(reference):
        return (BASE_DIR / migration[1] / "migrations" / f"{migration[2]}.py").is_file()
    parts = reference.split(".")
    for length in range(len(parts), 0, -1):
        base = BASE_DIR.joinpath(*parts[:length])
        module = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if module.is_file():
            attributes = parts[length:]
            # module.name: the name is defined or imported in that module
            return not attributes or re.search(rf"\b{re.escape(attributes[0])}\b", module.read_text()) is not None
        if base.is_dir() and length == len(parts):
            return True
    return False


@pytest.mark.parametrize("document", DOCS, ids=lambda path: path.name)
def test_every_module_and_path_the_docs_name_exists(document):
    missing = sorted({reference for reference in references(document.read_text()) if not exists(reference)})
    assert missing == []


def test_a_moved_module_is_reported():
    assert references("the pipeline (`search.pipeline`, `vision/pipeline.py`), `POST search/image`") == [
        "search.pipeline",
        "vision/pipeline.py",
    ]
    assert [
        exists(name)
        for name in (
            "search.pipeline",
            "vision.pipeline",
            "vision/pipeline.py",
            "vision.knn.image_candidates",
            "vision.knn.no_such_function",
            "catalog.0006_display_derivatives",
            "catalog.0099_none",
        )
    ] == [False, True, True, True, False, True, False]


def layout_table_folders(readme: str) -> set[str]:
    """The folders (`name/`) named in the first column of the README's layout table."""
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name.rstrip("/") for row in rows for name in CODE.findall(row.split("|")[1]) if name.endswith("/")}


def top_level_folders() -> set[str]:
    """Every folder at the top of the tree, less hidden ones and what .gitignore leaves out."""
    ignored = {line.strip().rstrip("/") for line in (BASE_DIR / ".gitignore").read_text().splitlines()}
    return {
        path.name
        for path in BASE_DIR.iterdir()
        if path.is_dir() and not path.name.startswith(".") and path.name not in ignored
    }


def test_the_layout_table_names_every_top_level_folder_and_no_other():
    assert layout_table_folders((BASE_DIR / "README.md").read_text()) == top_level_folders()


def test_the_layout_table_is_read_from_its_first_column():
    readme = "## Layout\n\n| folder | owns |\n|---|---|\n| `a/`, `b/` | uses `c/` |\n| `conftest.py` | x |\n\n## Next\n| `d/` | |"
    assert layout_table_folders(readme) == {"a", "b"}
