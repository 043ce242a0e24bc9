"""The labelled data set: which pictures of an ImageFolder are catalogue and which are queries
(no database, no model)."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


class DatasetError(ValueError):
    """The folder cannot be evaluated at all (the message names what is wrong)."""


@dataclass(frozen=True)
class LabelledImage:
    name: str  # path relative to the data set's folder
    path: Path
    label: str


@dataclass
class EvaluationSet:
    root: Path
    layout: str  # for people: "train/ + validation/" or "split 0.2"
    catalogue: list[LabelledImage]
    queries: list[LabelledImage]
    problems: list[str] = field(default_factory=list)  # inputs left out, each named

    @property
    def classes(self) -> list[str]:
        return sorted({image.label for image in self.catalogue})

    def to_json(self) -> dict:
        return {
            "root": str(self.root),
            "layout": self.layout,
            "problems": self.problems,
            "catalogue": [[i.name, str(i.path), i.label] for i in self.catalogue],
            "queries": [[i.name, str(i.path), i.label] for i in self.queries],
        }

    @classmethod
    def from_json(cls, data: dict) -> EvaluationSet:
        def images(rows):
            return [LabelledImage(name, Path(path), label) for name, path, label in rows]

        return cls(
            Path(data["root"]),
            data["layout"],
            images(data["catalogue"]),
            images(data["queries"]),
            list(data["problems"]),
        )


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _class_files(folder: Path, root: Path, problems: list[str]) -> dict[str, list[Path]]:
    """Class folder name -> its files, sorted. Stray files and empty classes are reported."""
    classes: dict[str, list[Path]] = {}
    for entry in sorted(filter(_visible, folder.iterdir())):
        if not entry.is_dir():
            problems.append(f"{entry.relative_to(root)}: not inside a class folder, left out")
            continue
        files = sorted(f for f in entry.iterdir() if _visible(f) and f.is_file())
        if not files:
            problems.append(f"{entry.relative_to(root)}/: class folder without images, left out")
            continue
        classes[entry.name] = files
    return classes


def split_for_queries(names: Sequence[str], fraction: float) -> set[str]:
    """The names of one class that become queries: round(fraction x n) of them, at least one
    and never all (n >= 2), chosen by a hash of the name, so the choice does not depend on
    listing order and adding a file never moves the others."""
    if len(names) < 2:
        return set()
    count = min(len(names) - 1, max(1, round(fraction * len(names))))
    return set(sorted(names, key=lambda name: hashlib.sha256(name.encode()).hexdigest())[:count])


def _round_robin(images: list[LabelledImage], limit: int) -> list[LabelledImage]:
    """`limit` images taken from every class in turn: a small sample still covers the classes."""
    by_class: dict[str, list[LabelledImage]] = defaultdict(list)
    for image in images:
        by_class[image.label].append(image)
    chosen: list[LabelledImage] = []
    queues = [list(group) for _, group in sorted(by_class.items())]
    while len(chosen) < limit and any(queues):
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    return sorted(chosen, key=lambda image: (image.label, image.name))


def read_dataset(
    root: Path, *, split: float | None = None, per_class: int | None = None, queries: int | None = None
) -> EvaluationSet:
    """The catalogue and query pictures of `root`.

    Without `split`: `root/train/<class>/` is the catalogue, `root/validation/<class>/` the
    queries. With `split` (0 < split < 1): `root/<class>/`, of which that share of each
    class become queries (split_for_queries). `per_class` keeps the first n catalogue
    pictures of each class, `queries` that many queries taken from each class in turn.
    Raises DatasetError when nothing can be evaluated.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    if split is not None and not 0 < split < 1:
        raise DatasetError(f"--split {split}: must be between 0 and 1 (the share of each class used as queries)")
    for name, value in (("--per-class", per_class), ("--queries", queries)):
        if value is not None and value < 1:
            raise DatasetError(f"{name} {value}: must be at least 1")
    problems: list[str] = []
    has_splits = (root / "train").is_dir() and (root / "validation").is_dir()
    if split is None:
        if not has_splits:
            raise DatasetError(
                f"{root}: expected train/<class>/ and validation/<class>/ folders "
                "(for plain class folders, pass --split FRACTION)"
            )
        layout = "train/ + validation/"
        catalogue_files = _class_files(root / "train", root, problems)
        query_files = _class_files(root / "validation", root, problems)
    else:
        if has_splits:
            raise DatasetError(f"{root}: has train/ and validation/ folders; evaluate it without --split")
        layout = f"split {split:g}"
        catalogue_files, query_files = {}, {}
        for label, files in _class_files(root, root, problems).items():
            chosen = split_for_queries([f.name for f in files], split)
            catalogue_files[label] = [f for f in files if f.name not in chosen]
            query_files[label] = [f for f in files if f.name in chosen]
            if not chosen:
                problems.append(f"{label}/: only one image, kept in the catalogue; no query from this class")
    if not catalogue_files:
        raise DatasetError(f"{root}: no class folders with images")

    def labelled(files: dict[str, list[Path]]) -> list[LabelledImage]:
        return [
            LabelledImage(path.relative_to(root).as_posix(), path, label)
            for label, paths in sorted(files.items())
            for path in paths
        ]

    catalogue = labelled({label: files[:per_class] for label, files in catalogue_files.items()})
    query_images = labelled(query_files)
    orphans = Counter(image.label for image in query_images if image.label not in catalogue_files)
    for label, count in sorted(orphans.items()):
        problems.append(f"class {label!r}: {count} queries but no catalogue images, left out")
    query_images = [image for image in query_images if image.label not in orphans]
    if queries is not None:
        query_images = _round_robin(query_images, queries)
    if not query_images:
        raise DatasetError(f"{root}: no query pictures of a class the catalogue has")
    return EvaluationSet(root, layout, catalogue, query_images, problems)
