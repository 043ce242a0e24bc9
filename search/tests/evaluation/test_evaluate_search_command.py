"""manage.py evaluate_search end to end on generated ImageFolders: a real throw-away
database, the real pipeline and search_products, in the command's child process."""

import io
import json
import os

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from PIL import ImageDraw

from catalog.models import Product
from fixtures.images import scene
from search.evaluation.isolation import DATABASE_PREFIX
from search.management.commands.evaluate_search import hybrid_text
from visualshop import embedded
from visualshop.throwaway import database_url

CLASSES = {"coats": 1, "dresses": 2, "hats": 3}


def pictures_of(seed: int) -> dict:
    """Four views of one scene: what a class looks like to the model (other seeds look different)."""
    base = scene(seed)
    return {
        "a.jpg": base,
        "b.jpg": base.crop((10, 10, 310, 390)).resize((330, 440)),
        "c.jpg": base.resize((480, 600)),
        "d.png": base.crop((20, 0, 320, 380)),
    }


def image_folder(root, *, split: bool = False):
    """3 classes x 4 pictures: with train/ (a, b) and validation/ (c, d), or plain class folders."""
    for label, seed in CLASSES.items():
        for name, picture in pictures_of(seed).items():
            part = "" if split else ("train" if name[0] in "ab" else "validation")
            folder = root / part / label
            folder.mkdir(parents=True, exist_ok=True)
            picture.save(folder / name)
    return root


def throw_away_databases() -> list[str]:
    url = database_url(connection.settings_dict, "postgres").replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT datname FROM pg_database WHERE datname = %s", [f"{DATABASE_PREFIX}{os.getpid()}"]
        ).fetchall()
    return [row[0] for row in rows]


@pytest.mark.slow
@pytest.mark.django_db
def test_json_report_on_a_small_image_folder_and_the_shop_database_untouched(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    call_command("evaluate_search", str(image_folder(tmp_path / "clothes")), "--json", stdout=out, stderr=err)
    result = json.loads(out.getvalue())
    assert {"map_at_10", "p_at_1", "p_at_10", "recall_at_10", "p50_ms", "p95_ms", "p99_ms"} <= result.keys()
    counts = {key: result[key] for key in ("catalogue_images", "catalogue_searchable", "queries", "classes")}
    assert counts == {"catalogue_images": 6, "catalogue_searchable": 6, "queries": 6, "classes": 3}
    # Each query is a view of one class's scene: both catalogue views of it come first, and
    # with two relevant products among six, P@10 is 2/10.
    quality = {key: result[key] for key in ("map_at_10", "p_at_1", "p_at_10", "recall_at_10")}
    assert quality == {"map_at_10": 1.0, "p_at_1": 1.0, "p_at_10": 0.2, "recall_at_10": 1.0}
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
    assert result["per_class"]["hats"] == {"queries": 2, "map_at_10": 1.0, "p_at_1": 1.0}
    assert result["projection"]["fitted"] is False  # six pictures are too few to fit on
    assert result["problems"] == [] and result["database"] is None
    assert result["search_refresh"]["left_dirty"] == 0 and "hybrid" not in result  # --hybrid adds it
    assert Product.objects.count() == 0  # everything happened in the throw-away database...
    assert throw_away_databases() == []  # ...which is gone


@pytest.mark.slow
def test_split_folder_with_a_broken_picture_names_it_counts_the_rest_and_exits_non_zero(tmp_path):
    root = image_folder(tmp_path / "clothes", split=True)
    (root / "hats" / "broken.jpg").write_bytes(b"not an image")  # hashed among the hats' queries
    (root / "coats" / "blank.jpg").write_bytes(b"")  # hashed into the coats' catalogue
    out, err = io.StringIO(), io.StringIO()
    try:
        with pytest.raises(CommandError, match=r"^2 input\(s\) left out \(listed above\); the numbers cover the rest$"):
            call_command("evaluate_search", str(root), "--split", "0.5", "--keep-db", stdout=out, stderr=err)
        kept = throw_away_databases()
    finally:
        embedded.drop_database(database_url(connection.settings_dict, "postgres"), f"{DATABASE_PREFIX}{os.getpid()}")
    assert kept == [f"{DATABASE_PREFIX}{os.getpid()}"]
    report = out.getvalue().splitlines()
    assert report[0] == f"Search evaluation of {root} (split 0.5)"
    assert report[1] == "  catalogue   8 pictures in 3 classes, 7 searchable (3 flagged, 4 ready)"
    assert report[2:4] == [
        "  queries     5",
        "  projection  not fitted: the catalogue has 7 categorised searchable "
        "images in 3 categories; fitting needs at least 20 images and two categories with two "
        "images each",
    ]
    # Relevant products: 2 coats (the blank one is out), 2 dresses, 3 hats.
    assert report[4:8] == [
        "  mAP@10      1.000",
        "  P@1         1.000",
        "  P@10        0.220",
        "  recall@10   1.000  (HNSW results against exact search)",
    ]
    assert "  refresh     1 round (7 products), 0 left search-dirty" in report
    problems = [line for line in err.getvalue().splitlines() if not line.startswith("[evaluate_search]")]
    assert problems == [
        "catalogue coats/blank.jpg: empty file",
        "query hats/broken.jpg: not an image (content is not a recognised image format)",
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["{tmp}/missing"], "{tmp}/missing: no such folder"),
        (
            ["{tmp}"],
            "{tmp}: expected train/<class>/ and validation/<class>/ folders (for plain class folders, "
            "pass --split FRACTION)",
        ),
        (["{tmp}", "--split", "0.2"], "{tmp}: no class folders with images"),
        (["{tmp}", "--split", "0"], "--split 0.0: must be between 0 and 1 (the share of each class used as queries)"),
    ],
)
def test_unusable_input_is_refused_before_any_database_is_made(tmp_path, arguments, message):
    with pytest.raises(CommandError) as refused:
        call_command("evaluate_search", *[a.format(tmp=tmp_path) for a in arguments], stdout=io.StringIO())
    assert str(refused.value) == message.format(tmp=tmp_path)


def kept_database_rows(sql: str) -> list[tuple]:
    url = database_url(connection.settings_dict, f"{DATABASE_PREFIX}{os.getpid()}")
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as kept:
        return kept.execute(sql).fetchall()


PERFECT = {"raw": 1.0, "vote": 1.0, "projection": 1.0, "projection_vote": 1.0}


@pytest.mark.slow
@pytest.mark.django_db
def test_held_out_groups_in_json_their_fits_leave_their_classes_out_and_the_full_fit_is_active_again(
    tmp_path, monkeypatch
):
    # Six catalogue pictures (two per class): enough to fit on here; four are left when one
    # class is held out, two (one category) when two are, too few to fit.
    monkeypatch.setenv("SEARCH_PROJECTION_MIN_IMAGES", "4")
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(
            "evaluate_search",
            str(image_folder(tmp_path / "clothes")),
            "--json",
            "--keep-db",
            "--held-out-groups",
            "hats; dresses,coats",
            stdout=out,
            stderr=err,
        )
        projections = kept_database_rows("SELECT version, status, fit FROM search_searchprojection ORDER BY id")
        categories = dict(kept_database_rows("SELECT name, id FROM catalog_category"))
    finally:
        embedded.drop_database(database_url(connection.settings_dict, "postgres"), f"{DATABASE_PREFIX}{os.getpid()}")
    result = json.loads(out.getvalue())
    full = result["projection"]
    assert (full["fitted"], full["images"], full["categories"], full["excluded_categories"]) == (True, 6, 3, [])
    assert result["map_at_10"] == 1.0
    # Each query's two catalogue views are its nearest pictures in every configuration.
    assert result["methods"] == {
        "queries": 6,
        "category_weight": 1.0,
        "projection": full["version"],
        "map_at_10": PERFECT,
    }
    assert result["held_out"]["category_weight"] == 1.0
    hats, coats_dresses = result["held_out"]["groups"]
    assert (hats["classes"], hats["queries"], hats["map_at_10"]) == (["hats"], 2, PERFECT)
    assert hats["map_at_10_full_fit"] == {"projection": 1.0, "projection_vote": 1.0}
    assert hats["fit"] == {
        **hats["fit"],
        "fitted": True,
        "images": 4,
        "categories": 2,
        "excluded_categories": [categories["Hats"]],
    }
    assert hats["fit"]["version"] != full["version"]
    assert coats_dresses == {
        "classes": ["coats", "dresses"],
        "queries": 4,
        "fit": {
            "fitted": False,
            "reason": "the catalogue has 2 categorised searchable images in 1 categories; "
            "fitting needs at least 4 images and two categories with two images each",
        },
        "map_at_10": {"raw": 1.0, "vote": 1.0, "projection": None, "projection_vote": None},
        "map_at_10_full_fit": {"projection": 1.0, "projection_vote": 1.0},
    }
    # The full fit is the active projection again (the same row); the held-out fit is kept
    # retired and was fitted without the hats.
    assert [(version, status, fit["images"], fit["excluded_categories"]) for version, status, fit in projections] == [
        (full["version"], "active", 6, []),
        (hats["fit"]["version"], "retired", 4, [categories["Hats"]]),
    ]
    assert result["problems"] == []


@pytest.mark.slow
def test_held_out_report_in_text_with_the_default_groups(tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCH_PROJECTION_MIN_IMAGES", "4")
    out = io.StringIO()
    call_command(
        "evaluate_search", str(image_folder(tmp_path / "clothes")), "--held-out", stdout=out, stderr=io.StringIO()
    )
    report = out.getvalue().splitlines()
    assert report[3] == "  projection  fitted on 6 images in 3 categories, 5-d"
    # A 3-d projection fitted on two other classes' four pictures says little about the class
    # it never saw: the report shows it (coats' queries lose their own pictures' places).
    assert report[report.index("  methods     mAP@10 of all 6 queries, full fit (category weight 1):") :] == [
        "  methods     mAP@10 of all 6 queries, full fit (category weight 1):",
        "              raw 1.000  vote 1.000  projection 1.000  projection+vote 1.000",
        "  held out    mAP@10 of each group's queries, projection fitted without the group's classes:",
        "    coats (2 queries; fit on 4 images in 2 categories)",
        "              raw 1.000  vote 1.000  projection 0.458  projection+vote 0.417",
        "              (full fit: projection 1.000  projection+vote 1.000)",
        "    dresses (2 queries; fit on 4 images in 2 categories)",
        "              raw 1.000  vote 1.000  projection 0.792  projection+vote 1.000",
        "              (full fit: projection 1.000  projection+vote 1.000)",
        "    hats (2 queries; fit on 4 images in 2 categories)",
        "              raw 1.000  vote 1.000  projection 1.000  projection+vote 1.000",
        "              (full fit: projection 1.000  projection+vote 1.000)",
    ]
    assert throw_away_databases() == []


def test_held_out_groups_naming_an_unknown_class_are_refused_before_any_database_is_made(tmp_path):
    with pytest.raises(CommandError) as refused:
        call_command(
            "evaluate_search",
            str(image_folder(tmp_path / "clothes")),
            "--held-out-groups",
            "hats;scarves",
            stdout=io.StringIO(),
        )
    assert (
        str(refused.value)
        == "--held-out-groups: no class 'scarves' in the catalogue (its classes: coats, dresses, hats)"
    )


RED, BLUE = (200, 20, 30), (20, 50, 200)


def coloured_image_folder(root):
    """3 classes, each a scene with a large garment painted over most of it: train/ a.jpg with
    a red garment and b.jpg with a blue one, validation/ c.jpg and d.png, other views of the
    same two. Every picture's colours (vision.colours) are exactly ["red"] or ["blue"]; the
    garment also makes pictures of one colour look alike across classes."""
    for label, seed in CLASSES.items():
        for colour, train, validation in ((RED, "a.jpg", "c.jpg"), (BLUE, "b.jpg", "d.png")):
            picture = scene(seed)
            ImageDraw.Draw(picture).rectangle((30, 40, 290, 360), fill=colour)
            for part, name, view in (
                ("train", train, picture),
                ("validation", validation, picture.crop((20, 0, 320, 380))),
            ):
                folder = root / part / label
                folder.mkdir(parents=True, exist_ok=True)
                view.save(folder / name)
    return root


def pair(map_at_10, p_at_1):
    return {"map_at_10": map_at_10, "p_at_1": p_at_1}


@pytest.mark.slow
@pytest.mark.django_db
def test_hybrid_compares_the_fusions_on_colour_words_and_the_served_one_is_search_products(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "evaluate_search",
        str(coloured_image_folder(tmp_path / "clothes")),
        "--json",
        "--hybrid",
        stdout=out,
        stderr=err,
    )
    result = json.loads(out.getvalue())
    # One refresh round leaves nothing search-dirty (colours and text documents all written).
    refresh = result["search_refresh"]
    assert [(r["dirty"], r["refreshed"]) for r in refresh["rounds"]] == [(6, 6)] and refresh["left_dirty"] == 0
    hybrid = result["hybrid"]
    assert hybrid["served_check"].pop("p50_ms") > 0
    assert hybrid == {
        "served": {"method": "score", "weight": 3.0, "k": 60, "photo_candidates": 200, "text_candidates": 5000},
        "colours_asked": ["black", "white", "grey", "blue", "red", "pink", "beige", "green"],
        "catalogue_colours": {"red": 3, "blue": 3},
        "catalogue_without_colours": 0,
        "text_matches": {"blue": 3, "red": 3},
        # Own colour: each query's word is its garment's colour, one relevant product. The
        # garment makes two queries' nearest picture another class's of the same colour; the
        # words cannot undo that when every candidate of that colour matches them. The text
        # alone ranks a colour's three products equally, by id: first for the coats only.
        "own": {
            "queries": 6,
            "methods": {
                "photo only": pair(0.8333, 0.6667),
                "text only": pair(0.6111, 0.3333),
                "rrf k=60": pair(0.8333, 0.6667),
                "score w=3": pair(0.8333, 0.6667),
                "served": pair(0.8333, 0.6667),
            },
        },
        # Asked: every query with "red" and with "blue" (no product holds the other colours):
        # half ask for the colour the photo does not have, where the photo alone is weakest.
        "asked": {
            "queries": 12,
            "methods": {
                "photo only": pair(0.5792, 0.3333),
                "text only": pair(0.6111, 0.3333),
                "rrf k=60": pair(0.8333, 0.6667),
                "score w=3": pair(0.7778, 0.5833),
                "served": pair(0.7778, 0.5833),
            },
        },
        # Every distinct (picture, word) pair, as search_products returns it: the same lists.
        "served_check": {"queries": 12, "mismatches": []},
        "unusable_queries": [],
    }
    assert result["problems"] == [] and throw_away_databases() == []


def test_hybrid_table_in_the_text_report():
    methods = {
        "photo only": pair(0.37, 0.5432),
        "text only": pair(0.095, 0.094),
        "rrf k=60": None,
        "score w=3": pair(0.835, 0.85),
        "served": pair(0.835, 0.85),
    }
    hybrid = {
        "served": {"method": "score", "weight": 3.0, "k": 60, "photo_candidates": 200, "text_candidates": 5000},
        "own": {"queries": 341, "methods": methods},
        "asked": {"queries": 2728, "methods": methods},
        "served_check": {"queries": 20, "mismatches": [], "p50_ms": 50.04},
    }
    assert hybrid_text(hybrid) == [
        "  hybrid      photo + a colour word, mAP@10 / P@1 (served: score w=3, photo 200, text 5000 deep)",
        "                  own colour (341)      asked (2728)",
        "    photo only    0.370 / 0.543         0.370 / 0.543",
        "    text only     0.095 / 0.094         0.095 / 0.094",
        "    rrf k=60      n/a                   n/a",
        "    score w=3     0.835 / 0.850         0.835 / 0.850",
        "    served        0.835 / 0.850         0.835 / 0.850",
        "    served = search_products on 20 pairs: 0 differ, p50 50.0 ms",
    ]
