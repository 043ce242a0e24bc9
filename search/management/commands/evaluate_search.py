import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from search.evaluation import held_out as held_out_evaluation  # handle() has a `held_out` option
from search.evaluation import isolation
from search.evaluation.dataset import DatasetError, read_dataset


class Command(BaseCommand):
    help = (
        "Measure photo search on a labelled ImageFolder: import its catalogue pictures as products "
        "(category = class folder) into a throw-away database, process them, fit the projection, "
        "then search with every query picture (relevant = same class). Prints mAP@10, P@1, P@10, "
        "recall@10 of the HNSW index against exact search and search_products latency. The shop's "
        "own database is never touched. Exits non-zero if any input was left out. --held-out adds what "
        "each part of the re-ranking does (raw features, category vote, projection, both) and the mAP@10 of "
        "classes left out of the projection's fit. --hybrid adds photo + a colour word: photo only, text only, "
        "rrf k=60, score at the served weight and the served fusion (checked against search_products)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "dataset", type=Path, help="a folder with train/<class>/ (catalogue) and validation/<class>/ (queries)"
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object instead of text")
        parser.add_argument(
            "--split",
            type=float,
            metavar="FRACTION",
            help="DATASET holds plain <class>/ folders: this share of each class (e.g. 0.1) "
            "becomes queries, chosen by a hash of the file name",
        )
        parser.add_argument("--per-class", type=int, metavar="N", help="at most N catalogue pictures per class")
        parser.add_argument("--queries", type=int, metavar="N", help="at most N queries, taken from each class in turn")
        parser.add_argument(
            "--held-out",
            action="store_true",
            help="then search again under four configurations (raw, vote, projection, projection "
            "+ vote), over all queries and per group of classes left out of the fit (default: "
            f"the sorted classes dealt into {held_out_evaluation.HELD_OUT_GROUPS} groups)",
        )
        parser.add_argument(
            "--held-out-groups",
            metavar="GROUPS",
            help='the groups for --held-out (implies it): "dress,hat;pants,shirt"',
        )
        parser.add_argument(
            "--hybrid",
            action="store_true",
            help="then search with every query picture and a colour word (its own colour, and each "
            "of a fixed list): mAP@10 / P@1 of photo only, text only, rrf k=60, score at the "
            "served weight and the served fusion (relevant = same class and that colour)",
        )
        parser.add_argument(
            "--keep-db",
            action="store_true",
            help="keep the throw-away database and its media afterwards (their names are printed)",
        )

    def handle(
        self, *args, dataset, as_json, split, per_class, queries, keep_db, held_out, held_out_groups, hybrid, **options
    ):
        try:
            selection = read_dataset(dataset, split=split, per_class=per_class, queries=queries)
            groups = None
            if held_out or held_out_groups is not None:
                groups = held_out_evaluation.held_out_groups(
                    selection.classes,
                    None if held_out_groups is None else held_out_evaluation.parse_held_out_groups(held_out_groups),
                )
            result = isolation.evaluate_in_throwaway_database(
                selection,
                keep_db=keep_db,
                held_out=groups,
                hybrid=hybrid,
                log=lambda message: self.stderr.write(f"[evaluate_search] {message}"),
            )
        except (DatasetError, isolation.EvaluationFailed) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(result) if as_json else report_text(result))
        for problem in result["problems"]:
            self.stderr.write(problem)
        if result["problems"]:
            raise CommandError(
                f"{len(result['problems'])} input(s) left out (listed above); the numbers cover the rest"
            )


def _number(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def report_text(result: dict) -> str:
    projection = result["projection"]
    fitted = (
        f"fitted on {projection['images']} images in {projection['categories']} categories, {projection['dimension']}-d"
        if projection["fitted"]
        else f"not fitted: {projection['reason']}"
    )
    statuses = ", ".join(f"{n} {status}" for status, n in result["catalogue_statuses"].items())
    lines = [
        f"Search evaluation of {result['dataset']} ({result['layout']})",
        f"  catalogue   {result['catalogue_images']} pictures in {result['classes']} classes, "
        f"{result['catalogue_searchable']} searchable ({statuses})",
        f"  queries     {result['queries']}",
        f"  projection  {fitted}",
        f"  mAP@10      {_number(result['map_at_10'])}",
        f"  P@1         {_number(result['p_at_1'])}",
        f"  P@10        {_number(result['p_at_10'])}",
        f"  recall@10   {_number(result['recall_at_10'])}  (HNSW results against exact search)",
        f"  latency     p50 {_number(result['p50_ms'], 1)} ms, p95 {_number(result['p95_ms'], 1)} ms, "
        f"p99 {_number(result['p99_ms'], 1)} ms  (search_products in one process, no HTTP)",
        "  per class   "
        + ", ".join(f"{label} {_number(row['map_at_10'])}" for label, row in result["per_class"].items()),
    ]
    refresh = result.get("search_refresh")
    if refresh:
        rounds = refresh["rounds"]
        per_round = " + ".join(str(r["refreshed"]) for r in rounds) or "none"
        lines.append(
            f"  refresh     {len(rounds)} round{'' if len(rounds) == 1 else 's'} ({per_round} products), "
            f"{refresh['left_dirty']} left search-dirty"
        )
    if "methods" in result:
        lines += held_out_text(result["methods"], result["held_out"])
    if "hybrid" in result:
        lines += hybrid_text(result["hybrid"])
    if result.get("database"):
        lines.append(f"  database    {result['database']} (kept)")
    return "\n".join(lines)


CONFIGURATION_NAMES = {"raw": "raw", "vote": "vote", "projection": "projection", "projection_vote": "projection+vote"}


def _configurations(row: dict) -> str:
    return "  ".join(f"{CONFIGURATION_NAMES[name]} {_number(value)}" for name, value in row.items())


def held_out_text(methods: dict, held_out: dict) -> list[str]:
    weight = f"category weight {methods['category_weight']:g}"
    lines = [
        f"  methods     mAP@10 of all {methods['queries']} queries, full fit ({weight}):",
        f"              {_configurations(methods['map_at_10'])}",
        "  held out    mAP@10 of each group's queries, projection fitted without the group's classes:",
    ]
    for group in held_out["groups"]:
        fit = group["fit"]
        fitted = (
            f"fit on {fit['images']} images in {fit['categories']} categories"
            if fit["fitted"]
            else f"not fitted: {fit['reason']}"
        )
        lines.append(f"    {', '.join(group['classes'])} ({group['queries']} queries; {fitted})")
        lines.append(f"              {_configurations(group['map_at_10'])}")
        full = group["map_at_10_full_fit"]
        lines.append(
            f"              (full fit: projection {_number(full['projection'])}  "
            f"projection+vote {_number(full['projection_vote'])})"
        )
    return lines


def _pair(row: dict | None) -> str:
    return "n/a" if row is None else f"{_number(row['map_at_10'])} / {_number(row['p_at_1'])}"


def hybrid_text(hybrid: dict) -> list[str]:
    served = hybrid["served"]
    fusion = f"score w={served['weight']:g}" if served["method"] == "score" else f"rrf k={served['k']}"
    own, asked = hybrid["own"], hybrid["asked"]
    lines = [
        f"  hybrid      photo + a colour word, mAP@10 / P@1 (served: {fusion}, "
        f"photo {served['photo_candidates']}, text {served['text_candidates']} deep)",
        f"    {'':<14}{'own colour (' + str(own['queries']) + ')':<22}{'asked (' + str(asked['queries']) + ')'}",
    ]
    for name in own["methods"]:
        lines.append(f"    {name:<14}{_pair(own['methods'][name]):<22}{_pair(asked['methods'][name])}")
    check = hybrid["served_check"]
    lines.append(
        f"    served = search_products on {check['queries']} pairs: {len(check['mismatches'])} differ, "
        f"p50 {_number(check['p50_ms'], 1)} ms"
    )
    return lines
