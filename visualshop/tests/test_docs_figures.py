"""Benchmark figures quoted in README.md and docs/ are the ones a benchmark printed.

A quoted figure carries a marker naming where it comes from, invisible once rendered:
`**67 images/s**<!-- bench:ingest.images_per_s -->`. The figure is the last number before the
marker on its line; `make bench` keeps each benchmark's JSON in bench/results/<name>.json
(bench/lib/record.py), and the figure must equal the kept value rounded as written. A marker
may scale the value first (`<!-- bench:ingest.machine_cpu_busy_share*100 -->` for 95%)."""

import json
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest

from visualshop.paths import BASE_DIR

DOCS = [BASE_DIR / "README.md", *sorted((BASE_DIR / "docs").glob("*.md"))]
RESULTS = BASE_DIR / "bench" / "results"
MARKER = re.compile(r"<!-- bench:(\w+)\.(.+?)(?:\*(\d+))? -->")  # keys may hold spaces
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def quoted_figures(text: str) -> list[tuple[int, str, str, str, int]]:
    """(line, figure as written, benchmark, key path, scale) for every marker."""
    found = []
    for lineno, line in enumerate(text.splitlines(), 1):
        for marker in MARKER.finditer(line):
            numbers = NUMBER.findall(MARKER.sub("", line[: marker.start()]))
            found.append((lineno, numbers[-1] if numbers else "", marker[1], marker[2], int(marker[3] or 1)))
    return found


def kept_value(benchmark: str, key_path: str) -> float:
    value = json.loads((RESULTS / f"{benchmark}.json").read_text())["result"]
    for key in re.findall(r"[^.\[\]]+", key_path):
        value = value[int(key)] if isinstance(value, list) else value[key]
    return value


def matches(written: str, value: float) -> bool:
    """Rounded half up, as people round (Python's round() gives 224 for 224.5)."""
    decimals = len(written.split(".")[1]) if "." in written else 0
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return rounded == Decimal(written.replace(",", ""))


@pytest.mark.parametrize("document", DOCS, ids=lambda path: path.name)
def test_every_quoted_figure_is_the_kept_benchmark_value(document):
    wrong = []
    for lineno, written, benchmark, key_path, scale in quoted_figures(document.read_text()):
        value = kept_value(benchmark, key_path) * scale
        if not written or not matches(written, value):
            wrong.append(
                f"{document.name}:{lineno}: {written or 'no figure'} quoted, {benchmark}.{key_path} is {value}"
            )
    assert wrong == []


def test_the_readme_quotes_figures_with_their_source():
    assert len(quoted_figures((BASE_DIR / "README.md").read_text())) >= 10


def test_a_figure_that_differs_from_the_kept_value_is_caught():
    [(_, written, benchmark, key_path, scale)] = quoted_figures(
        "end to end **1,234.5 images/s**<!-- bench:ingest.images_per_s --> (target 100)"
    )
    assert (written, benchmark, key_path, scale) == ("1,234.5", "ingest", "images_per_s", 1)
    assert [
        matches("67", 67.4),
        matches("67", 67.6),
        matches("1,234.5", 1234.54),
        matches("16.32", 16.3),
        matches("225", 224.5),
        matches("224", 224.5),
        matches("4", 0.004 * 1000),
    ] == [True, False, True, False, True, False, True]
    assert quoted_figures("in 4 ms<!-- bench:uploads.cases.png 16-bit (issue 10).seconds*1000 -->")[0][1:] == (
        "4",
        "uploads",
        "cases.png 16-bit (issue 10).seconds",
        1000,
    )
    assert quoted_figures("busy 95%<!-- bench:ingest.machine_cpu_busy_share*100 -->")[0][1:] == (
        "95",
        "ingest",
        "machine_cpu_busy_share",
        100,
    )
