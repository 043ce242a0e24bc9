import shutil
from pathlib import Path


def slice_of(dataset: Path, per_class: int, dest: Path) -> Path:
    """A small ImageFolder: copies of the first `per_class` images of each class.

    Copies, not symlinks: the importer refuses a folder's links that lead outside it
    (a catalogue import must never read files from elsewhere on the server).
    """
    for category in sorted(p for p in dataset.iterdir() if p.is_dir()):
        (dest / category.name).mkdir(parents=True)
        for image in sorted(category.iterdir())[:per_class]:
            shutil.copyfile(image, dest / category.name / image.name)
    return dest
