"""The evaluation's reading of a data set folder (no database, no model)."""

import json

import pytest

from search.evaluation.dataset import DatasetError, EvaluationSet, LabelledImage, read_dataset, split_for_queries


def files(root, *names, content=b"x"):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def names(images):
    return [(image.name, image.label) for image in images]


def test_train_and_validation_folders_are_catalogue_and_queries(tmp_path):
    root = files(
        tmp_path,
        "train/coat/1.jpg",
        "train/coat/2.jpg",
        "train/hat/3.jpg",
        "train/.DS_Store",
        "validation/coat/4.jpg",
        "validation/hat/5.jpg",
        "validation/hat/.hidden.jpg",
    )
    dataset = read_dataset(root)
    assert dataset.layout == "train/ + validation/"
    assert names(dataset.catalogue) == [
        ("train/coat/1.jpg", "coat"),
        ("train/coat/2.jpg", "coat"),
        ("train/hat/3.jpg", "hat"),
    ]
    assert names(dataset.queries) == [("validation/coat/4.jpg", "coat"), ("validation/hat/5.jpg", "hat")]
    assert dataset.catalogue[0].path == root / "train/coat/1.jpg"
    assert dataset.classes == ["coat", "hat"]
    assert dataset.problems == []


def test_per_class_and_queries_limits_keep_every_class(tmp_path):
    root = files(
        tmp_path,
        *[f"train/{c}/{n}.jpg" for c in ("a", "b", "c") for n in range(5)],
        *[f"validation/{c}/q{n}.jpg" for c in ("a", "b", "c") for n in range(3)],
    )
    dataset = read_dataset(root, per_class=2, queries=4)
    assert names(dataset.catalogue) == [(f"train/{c}/{n}.jpg", c) for c in ("a", "b", "c") for n in (0, 1)]
    # Taken from each class in turn: a, b, c, then a again.
    assert names(dataset.queries) == [
        ("validation/a/q0.jpg", "a"),
        ("validation/a/q1.jpg", "a"),
        ("validation/b/q0.jpg", "b"),
        ("validation/c/q0.jpg", "c"),
    ]


def test_odd_entries_are_left_out_and_named(tmp_path):
    root = files(
        tmp_path,
        "train/coat/1.jpg",
        "train/stray.jpg",
        "validation/coat/2.jpg",
        "validation/scarf/3.jpg",
        "validation/scarf/4.jpg",
    )
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
    assert names(dataset.catalogue) == [
        ("coat/b.jpg", "coat"),
        ("coat/c.jpg", "coat"),
        ("hat/b.jpg", "hat"),
        ("scarf/only.jpg", "scarf"),
    ]
    assert dataset.problems == ["scarf/: only one image, kept in the catalogue; no query from this class"]


def test_split_choice_depends_on_names_only():
    ten = [f"{n}.jpg" for n in range(1, 11)]
    assert split_for_queries(ten, 0.2) == {"5.jpg", "1.jpg"}
    assert split_for_queries(list(reversed(ten)), 0.2) == {"5.jpg", "1.jpg"}
    assert split_for_queries([*ten, "11.jpg"], 0.2) >= {"5.jpg"}  # a new file does not reshuffle
    assert split_for_queries(["a.jpg", "b.jpg"], 0.01) == {"a.jpg"}  # at least one query
    assert split_for_queries(["a.jpg", "b.jpg"], 0.99) == {"a.jpg"}  # never the whole class
    assert split_for_queries(["a.jpg"], 0.5) == set()


@pytest.mark.parametrize(
    ("layout", "options", "message"),
    [
        (None, {}, "{root}: no such folder"),
        (
            (),
            {},
            "{root}: expected train/<class>/ and validation/<class>/ folders (for plain class folders, pass --split FRACTION)",
        ),
        (("train/.keep", "validation/.keep"), {}, "{root}: no class folders with images"),
        (("train/a/1.jpg", "validation/b/1.jpg"), {}, "{root}: no query pictures of a class the catalogue has"),
        (
            ("train/a/1.jpg", "validation/a/1.jpg"),
            {"split": 0.2},
            "{root}: has train/ and validation/ folders; evaluate it without --split",
        ),
        (
            ("a/1.jpg",),
            {"split": 1.0},
            "--split 1.0: must be between 0 and 1 (the share of each class used as queries)",
        ),
        (("a/1.jpg",), {"split": 0.5}, "{root}: no query pictures of a class the catalogue has"),
        ((), {"split": 0.5}, "{root}: no class folders with images"),
        (("train/a/1.jpg", "validation/a/1.jpg"), {"per_class": 0}, "--per-class 0: must be at least 1"),
    ],
)
def test_unusable_folders_are_refused_with_a_reason(tmp_path, layout, options, message):
    root = tmp_path / "clothes"
    if layout is not None:
        root.mkdir()
        files(root, *layout)
    with pytest.raises(DatasetError) as refused:
        read_dataset(root, **options)
    assert str(refused.value) == message.format(root=root)


def test_the_selection_travels_to_the_child_process_as_json(tmp_path):
    dataset = EvaluationSet(
        tmp_path,
        "split 0.2",
        [LabelledImage("a/1.jpg", tmp_path / "a/1.jpg", "a")],
        [LabelledImage("a/2.jpg", tmp_path / "a/2.jpg", "a")],
        ["a problem"],
    )
    assert EvaluationSet.from_json(json.loads(json.dumps(dataset.to_json()))) == dataset
