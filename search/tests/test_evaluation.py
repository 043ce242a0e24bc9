"""The evaluation's maths and its reading of a data set folder (no database, no model)."""

import json

import pytest

from search import evaluation
from search.evaluation import (
    DatasetError, EvaluationSet, LabelledImage, QueryOutcome, average_precision_at_k, latency_percentiles,
    overlap_at_k, precision_at_k, read_dataset, split_for_queries, summarise,
)

# ---------------------------------------------------------------- metrics


@pytest.mark.parametrize(("relevant", "k", "expected"), [
    ([True, False, True, False], 1, 1.0),
    ([False, True], 1, 0.0),
    ([True, False, True, False], 4, 0.5),
    ([True, True], 10, 0.2),  # a short list: its missing places are misses
    ([True] * 12, 10, 1.0),  # only the first k count
])
def test_precision_at_k(relevant, k, expected):
    assert precision_at_k(relevant, k) == expected


@pytest.mark.parametrize(("relevant", "relevant_total", "expected"), [
    ([True, True, False], 2, 1.0),  # every relevant item first: perfect, although R < 10
    ([False, True, False, True], 4, 0.25),  # (1/2 + 2/4) / min(10, 4)
    ([False, True, False, True], 2, 0.5),  # the same list when only two exist
    ([True] * 10, 50, 1.0),  # R > 10: normalised by 10
    ([True] * 5 + [False] * 5, 50, 0.5),  # five of the ten possible hits, all first
    ([False] * 10 + [True], 3, 0.0),  # rank 11 is outside AP@10
    ([], 3, 0.0),
])
def test_average_precision_at_10_is_normalised_by_min_10_and_the_relevant_items(relevant, relevant_total, expected):
    assert average_precision_at_k(relevant, relevant_total) == expected


def test_average_precision_refuses_a_query_without_relevant_items():
    with pytest.raises(ValueError, match="^AP is undefined for a query with no relevant item$"):
        average_precision_at_k([False], 0)


def test_overlap_at_k_is_the_share_of_the_exact_top_k_found():
    exact = list(range(1, 11))
    assert overlap_at_k([1, 2, 3, 4, 5, 6, 7, 8, 98, 99], exact) == 0.8
    assert overlap_at_k(list(reversed(exact)), exact) == 1.0  # order does not matter
    assert overlap_at_k([3, 1], [1, 2, 3, 4], k=2) == 0.5  # only the first k of each
    assert overlap_at_k([7], [7, 8]) == 0.5
    with pytest.raises(ValueError, match="^the reference list is empty$"):
        overlap_at_k([1], [])


def test_latency_percentiles_interpolate_between_samples():
    assert latency_percentiles([float(ms) for ms in range(101)]) == {"p50_ms": 50.0, "p95_ms": 95.0, "p99_ms": 99.0}
    assert latency_percentiles([1.0, 2.0]) == {"p50_ms": 1.5, "p95_ms": 1.95, "p99_ms": 1.99}
    assert latency_percentiles([]) == {"p50_ms": None, "p95_ms": None, "p99_ms": None}


def outcome(label, hits, relevant_total, latency_ms, recall=None):
    return QueryOutcome(f"validation/{label}/q.jpg", label, tuple(hits), relevant_total, latency_ms, recall)


def test_summary_over_queries_and_per_class():
    outcomes = [
        outcome("coat", ["coat", "hat", "coat"], 2, 10.0, recall=1.0),  # AP (1 + 2/3) / 2
        outcome("coat", ["hat", "coat"], 4, 20.0, recall=0.5),  # AP (1/2) / 4
        outcome("hat", ["hat"] * 10, 20, 30.0),  # AP 1, recall not measured
        outcome("hat", [None, "hat"], 1, 40.0, recall=0.0),  # a product missing its class: a miss
    ]
    summary = evaluation.rounded(summarise(outcomes))
    assert summary == {
        "map_at_10": 0.6146,  # (5/6 + 1/8 + 1 + 1/2) / 4
        "p_at_1": 0.5,
        "p_at_10": 0.35,  # (2 + 1 + 10 + 1) / 40
        "recall_at_10": 0.5,
        "recall_queries": 3,
        "p50_ms": 25.0, "p95_ms": 38.5, "p99_ms": 39.7,
        "per_class": {
            "coat": {"queries": 2, "map_at_10": 0.4792, "p_at_1": 0.5},
            "hat": {"queries": 2, "map_at_10": 0.75, "p_at_1": 0.5},
        },
    }


def test_summary_of_no_queries_has_no_numbers():
    assert summarise([]) == {
        "map_at_10": None, "p_at_1": None, "p_at_10": None, "recall_at_10": None, "recall_queries": 0,
        "p50_ms": None, "p95_ms": None, "p99_ms": None, "per_class": {},
    }


# ---------------------------------------------------------------- reading the folder


def files(root, *names, content=b"x"):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def names(images):
    return [(image.name, image.label) for image in images]


def test_train_and_validation_folders_are_catalogue_and_queries(tmp_path):
    root = files(tmp_path, "train/coat/1.jpg", "train/coat/2.jpg", "train/hat/3.jpg", "train/.DS_Store",
                 "validation/coat/4.jpg", "validation/hat/5.jpg", "validation/hat/.hidden.jpg")
    dataset = read_dataset(root)
    assert dataset.layout == "train/ + validation/"
    assert names(dataset.catalogue) == [("train/coat/1.jpg", "coat"), ("train/coat/2.jpg", "coat"),
                                        ("train/hat/3.jpg", "hat")]
    assert names(dataset.queries) == [("validation/coat/4.jpg", "coat"), ("validation/hat/5.jpg", "hat")]
    assert dataset.catalogue[0].path == root / "train/coat/1.jpg"
    assert dataset.classes == ["coat", "hat"]
    assert dataset.problems == []


def test_per_class_and_queries_limits_keep_every_class(tmp_path):
    root = files(tmp_path, *[f"train/{c}/{n}.jpg" for c in ("a", "b", "c") for n in range(5)],
                 *[f"validation/{c}/q{n}.jpg" for c in ("a", "b", "c") for n in range(3)])
    dataset = read_dataset(root, per_class=2, queries=4)
    assert names(dataset.catalogue) == [(f"train/{c}/{n}.jpg", c) for c in ("a", "b", "c") for n in (0, 1)]
    # Taken from each class in turn: a, b, c, then a again.
    assert names(dataset.queries) == [("validation/a/q0.jpg", "a"), ("validation/a/q1.jpg", "a"),
                                      ("validation/b/q0.jpg", "b"), ("validation/c/q0.jpg", "c")]


def test_odd_entries_are_left_out_and_named(tmp_path):
    root = files(tmp_path, "train/coat/1.jpg", "train/stray.jpg", "validation/coat/2.jpg",
                 "validation/scarf/3.jpg", "validation/scarf/4.jpg")
    (root / "train" / "empty").mkdir()
    dataset = read_dataset(root)
    assert names(dataset.queries) == [("validation/coat/2.jpg", "coat")]
    assert dataset.problems == [
        "train/empty/: class folder without images, left out",
        "train/stray.jpg: not inside a class folder, left out",
        "class 'scarf': 2 queries but no catalogue images, left out",
    ]


def test_split_puts_a_hashed_share_of_each_class_into_the_queries(tmp_path):
    root = files(tmp_path, *[f"coat/{n}.jpg" for n in "abcd"], "hat/a.jpg", "hat/b.jpg", "scarf/only.jpg")
    dataset = read_dataset(root, split=0.5)
    assert dataset.layout == "split 0.5"
    assert names(dataset.queries) == [("coat/a.jpg", "coat"), ("coat/d.jpg", "coat"), ("hat/a.jpg", "hat")]
    assert names(dataset.catalogue) == [("coat/b.jpg", "coat"), ("coat/c.jpg", "coat"), ("hat/b.jpg", "hat"),
                                        ("scarf/only.jpg", "scarf")]
    assert dataset.problems == ["scarf/: only one image, kept in the catalogue; no query from this class"]


def test_split_choice_depends_on_names_only():
    ten = [f"{n}.jpg" for n in range(1, 11)]
    assert split_for_queries(ten, 0.2) == {"5.jpg", "1.jpg"}
    assert split_for_queries(list(reversed(ten)), 0.2) == {"5.jpg", "1.jpg"}
    assert split_for_queries([*ten, "11.jpg"], 0.2) >= {"5.jpg"}  # a new file does not reshuffle
    assert split_for_queries(["a.jpg", "b.jpg"], 0.01) == {"a.jpg"}  # at least one query
    assert split_for_queries(["a.jpg", "b.jpg"], 0.99) == {"a.jpg"}  # never the whole class
    assert split_for_queries(["a.jpg"], 0.5) == set()


@pytest.mark.parametrize(("layout", "options", "message"), [
    (None, {}, "{root}: no such folder"),
    ((), {}, "{root}: expected train/<class>/ and validation/<class>/ folders (for plain class folders, pass --split FRACTION)"),
    (("train/.keep", "validation/.keep"), {}, "{root}: no class folders with images"),
    (("train/a/1.jpg", "validation/b/1.jpg"), {}, "{root}: no query pictures of a class the catalogue has"),
    (("train/a/1.jpg", "validation/a/1.jpg"), {"split": 0.2}, "{root}: has train/ and validation/ folders; evaluate it without --split"),
    (("a/1.jpg",), {"split": 1.0}, "--split 1.0: must be between 0 and 1 (the share of each class used as queries)"),
    (("a/1.jpg",), {"split": 0.5}, "{root}: no query pictures of a class the catalogue has"),
    ((), {"split": 0.5}, "{root}: no class folders with images"),
    (("train/a/1.jpg", "validation/a/1.jpg"), {"per_class": 0}, "--per-class 0: must be at least 1"),
])
def test_unusable_folders_are_refused_with_a_reason(tmp_path, layout, options, message):
    root = tmp_path / "clothes"
    if layout is not None:
        root.mkdir()
        files(root, *layout)
    with pytest.raises(DatasetError) as refused:
        read_dataset(root, **options)
    assert str(refused.value) == message.format(root=root)


def test_the_selection_travels_to_the_child_process_as_json(tmp_path):
    dataset = EvaluationSet(tmp_path, "split 0.2", [LabelledImage("a/1.jpg", tmp_path / "a/1.jpg", "a")],
                            [LabelledImage("a/2.jpg", tmp_path / "a/2.jpg", "a")], ["a problem"])
    assert EvaluationSet.from_json(json.loads(json.dumps(dataset.to_json()))) == dataset


# ---------------------------------------------------------------- isolation


@pytest.mark.parametrize(("settings_dict", "url"), [
    ({"USER": "postgres", "PASSWORD": "", "HOST": "/tmp/pg sock", "PORT": 5432, "OPTIONS": {}},
     "postgres://postgres@%2Ftmp%2Fpg%20sock:5432/evaluation"),
    ({"USER": "shop", "PASSWORD": "p@ss/word", "HOST": "db.internal", "PORT": "", "OPTIONS": {"sslmode": "require"}},
     "postgres://shop:p%40ss%2Fword@db.internal/evaluation?sslmode=require"),
])
def test_the_throw_away_database_is_on_the_shops_server(settings_dict, url):
    assert evaluation.database_url(settings_dict, "evaluation") == url


@pytest.mark.django_db
def test_the_child_refuses_any_database_but_its_throw_away_one(tmp_path, capsys):
    from django.db import connection

    from catalog.models import Product

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"database": "visualshop_evaluate_1"}))
    assert evaluation.child_main(str(spec)) == 2
    assert capsys.readouterr().err == (
        f"[evaluate_search] refusing to fill database {connection.settings_dict['NAME']!r}: "
        "not the throw-away database 'visualshop_evaluate_1'\n"
    )
    assert Product.objects.count() == 0


# ---------------------------------------------------------------- held-out groups


def test_held_out_groups_deal_the_sorted_classes_in_turn():
    classes = ["shirt", "dress", "hat", "pants", "skirt", "shoes", "t-shirt"]
    assert evaluation.held_out_groups(classes) == [
        ["dress", "shirt", "t-shirt"], ["hat", "shoes"], ["pants", "skirt"]]
    assert evaluation.held_out_groups(["b", "a"]) == [["a"], ["b"]]  # fewer classes than groups: no empty group
    assert evaluation.held_out_groups(classes, count=2) == [["dress", "pants", "shoes", "t-shirt"],
                                                            ["hat", "shirt", "skirt"]]


def test_held_out_groups_given_by_the_caller_are_parsed_sorted_and_checked():
    groups = evaluation.parse_held_out_groups(" hat,dress ; pants,,shirt")
    assert groups == [["hat", "dress"], ["pants", "shirt"]]
    assert evaluation.held_out_groups(["dress", "hat", "pants", "shirt", "skirt"], groups) == [
        ["dress", "hat"], ["pants", "shirt"]]


@pytest.mark.parametrize(("text", "message"), [
    ("hat;scarf,cap", "--held-out-groups: no class 'cap', 'scarf' in the catalogue (its classes: dress, hat)"),
    ("hat;", "--held-out-groups: every group needs at least one class"),
    ("hat,dress;hat", "--held-out-groups: 'hat' in more than one group"),
])
def test_held_out_groups_that_cannot_be_used_are_refused(text, message):
    with pytest.raises(DatasetError) as refused:
        evaluation.held_out_groups(["dress", "hat"], evaluation.parse_held_out_groups(text))
    assert str(refused.value) == message


def test_untimed_outcomes_count_in_the_quality_numbers_not_in_the_latencies():
    summary = summarise([outcome("coat", ["coat"], 1, 10.0), outcome("coat", ["hat", "coat"], 1, None)])
    assert (summary["map_at_10"], summary["p50_ms"], summary["p99_ms"]) == (0.75, 10.0, 10.0)


# ---------------------------------------------------------------- hybrid (search.hybrid_evaluation)


def test_the_served_check_sample_is_spread_over_all_pairs():
    from search.hybrid_evaluation import check_sample

    assert check_sample(3, 20) == [0, 1, 2]
    assert check_sample(0, 20) == []
    assert check_sample(100, 5) == [0, 25, 50, 74, 99]
    assert len(check_sample(3068, 20)) == 20


def test_every_method_fuses_the_same_two_lists_and_served_is_the_configured_fusion(settings):
    import numpy as np

    from search.hybrid_evaluation import method_lists, method_names
    from search.reranking import Candidate, Rescored
    from search.text import TextHit

    settings.SEARCH_HYBRID_METHOD, settings.SEARCH_HYBRID_TEXT_WEIGHT, settings.SEARCH_RRF_K = "score", 3.0, 60

    def visual(*ranked):
        return [Rescored(Candidate(pid * 10, pid, None, score, np.zeros(2)), score, 0.0) for pid, score in ranked]

    photo = visual((1, 0.9), (2, 0.8), (3, 0.7), (4, 0.1))
    words = [TextHit(pid, 1.0, ("red",)) for pid in (3, 4, 5)]  # a one-word query: equal scores, by id
    lists = method_lists(photo, words, words=1)
    assert list(lists) == method_names() == ["photo only", "text only", "rrf k=60", "score w=3", "served"]
    assert lists["photo only"] == [1, 2, 3, 4]
    assert lists["text only"] == [3, 4, 5]
    # 3 and 4 are on both lists; 5 only on the words' (as like the photo as its least similar candidate).
    assert lists["rrf k=60"] == [3, 4, 1, 2, 5]
    assert lists["score w=3"] == lists["served"] == [3, 4, 5, 1, 2]
    settings.SEARCH_HYBRID_METHOD = "rrf"
    assert method_lists(photo, words, words=1)["served"] == [3, 4, 1, 2, 5]
