"""Why a search's results came in their order (the staff's "why this order" view): the
features each result was served with, as logged (ranking.models.ShownResults), and the score
the ranker that ordered the page gives them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from catalog.models import Product
from ranking import selectors
from ranking.features import FEATURE_NAMES, columns
from ranking.models import RankerVersion, ShownResults


@dataclass(frozen=True)
class ExplainedResult:
    position: int
    product_id: int
    title: str
    score: float | None  # the serving ranker's score (None: today's order served)
    features: dict[str, float]


def why_this_order(shown: ShownResults) -> list[ExplainedResult]:
    matrix = np.frombuffer(bytes(shown.features), dtype=np.float32).reshape(len(shown.product_ids), len(FEATURE_NAMES))
    scores = _scores(shown.ranker, matrix)
    titles = dict(Product.objects.filter(pk__in=shown.product_ids).values_list("pk", "title"))
    return [
        ExplainedResult(
            position=shown.first_position + i,
            product_id=pid,
            title=titles.get(pid, "(deleted)"),
            score=None if scores is None else float(scores[i]),
            features=dict(zip(FEATURE_NAMES, matrix[i].tolist())),
        )
        for i, pid in enumerate(shown.product_ids)
    ]


def _scores(ranker: str, matrix: np.ndarray) -> np.ndarray | None:
    """The scores of the ranker named in the log ("ranker-12" or "ranker-12+explore"), None for
    today's order or a version since deleted."""
    name = ranker.split("+")[0]
    if not name.startswith("ranker-"):
        return None
    version = (
        RankerVersion.objects.filter(pk=int(name.removeprefix("ranker-"))).values_list("pk", "feature_names").first()
    )
    if version is None:
        return None
    return selectors.booster_of(version[0]).predict(matrix[:, columns(version[1])], num_threads=1)


def why_this_order_table(results: list[ExplainedResult]) -> SafeString:
    header = format_html_join("", "<th scope='col'>{}</th>", ((name,) for name in FEATURE_NAMES))
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
        (
            (
                r.position,
                f"{r.title} ({r.product_id})",
                "" if r.score is None else f"{r.score:.3f}",
                format_html_join("", "<td>{}</td>", ((_number(r.features[name]),) for name in FEATURE_NAMES)),
            )
            for r in results
        ),
    )
    return format_html(
        '<div style="overflow-x:auto"><table><thead><tr><th scope="col">position</th><th scope="col">product</th>'
        '<th scope="col">score</th>{}</tr></thead><tbody>{}</tbody></table></div>',
        header,
        rows,
    )


def _number(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.3g}"
