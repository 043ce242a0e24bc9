"""What SOURCE is: an ImageFolder folder, a feed file, or a .zip of either."""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from catalog.importing.feeds import FEED_SUFFIXES, feed_kind
from catalog.importing.records import SourceError

# A zip bomb must not fill the disk: limits on what we are willing to unpack.
ZIP_MAX_TOTAL_BYTES = 4 * 1024**3
ZIP_MAX_MEMBERS = 200_000


@dataclass(frozen=True)
class Source:
    kind: str  # "folder" or "feed"
    path: Path  # the folder, or the feed file
    base_dir: Path  # relative image paths in a feed resolve against this
    # Every local image path must lead inside this folder (catalog.importing.local_files):
    # a feed may use its own pictures, never any other file on the server.
    image_root: Path
    root_name: str  # image_root as messages name it


@contextlib.contextmanager
def open_source(path: Path, *, image_root: Path | None = None) -> Iterator[Source]:
    """image_root: the folder local images must really be in, instead of the source's own.

    For a feed file it is also what the feed's paths are relative to. For an ImageFolder
    it lets the folder's files be links into it (a folder of links to a picture library).
    A zip brings its own pictures and takes none.
    """
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    if image_root is not None:
        image_root = Path(image_root)
        if not path.is_dir() and zipfile.is_zipfile(path):
            raise SourceError(f"{path}: --image-root is for a feed file or a folder; a zip uses its own images")
        if not image_root.is_dir():
            raise SourceError(f"--image-root {image_root}: no such folder")
    if path.is_dir():
        if image_root is not None:
            yield Source("folder", path, path, image_root, "the --image-root folder")
        else:
            yield Source("folder", path, path, path, "the image folder")
    elif zipfile.is_zipfile(path):
        with tempfile.TemporaryDirectory(prefix="visualshop-import-") as tmp:
            root = Path(tmp)
            extract_zip(path, root)
            # A feed in a folder of the zip may still use pictures elsewhere in the zip.
            yield dataclasses.replace(_source_in_folder(root, path.name), image_root=root, root_name="the zip's folder")
    elif path.suffix.lower() == ".zip":
        raise SourceError(f"{path}: not a valid zip file")
    elif feed_kind(path):
        if image_root is not None:
            yield Source("feed", path, image_root, image_root, "the --image-root folder")
        else:
            yield Source("feed", path, path.parent, path.parent, "the feed folder")
    else:
        raise SourceError(f"{path}: not a feed (.csv, .tsv, .jsonl), a folder or a .zip")


def extract_zip(archive: Path, dest: Path) -> None:
    """Unpack refusing absolute paths, '..' and oversize archives."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            if len(members) > ZIP_MAX_MEMBERS:
                raise SourceError(f"{archive}: more than {ZIP_MAX_MEMBERS} files in the zip")
            if sum(member.file_size for member in members) > ZIP_MAX_TOTAL_BYTES:
                raise SourceError(f"{archive}: unpacks to more than {ZIP_MAX_TOTAL_BYTES} bytes")
            for member in members:
                name = PurePosixPath(member.filename)
                if name.is_absolute() or ".." in name.parts or member.filename.startswith(("/", "\\")):
                    raise SourceError(f"{archive}: unsafe path {member.filename!r} in the zip")
                if member.is_dir() or name.parts[0] == "__MACOSX":
                    continue
                target = dest.joinpath(*name.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as src, target.open("wb") as out:
                    while chunk := src.read(1024 * 1024):
                        out.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError) as exc:
        raise SourceError(f"{archive}: cannot unpack ({exc})") from None


def _source_in_folder(root: Path, label: str) -> Source:
    """Inside an unpacked zip: one feed file (at the top or in a single folder) or an ImageFolder."""
    entries = [entry for entry in root.iterdir() if not entry.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir():
        inner = [entry for entry in entries[0].iterdir() if not entry.name.startswith(".")]
        if any(entry.is_file() and entry.suffix.lower() in FEED_SUFFIXES for entry in inner):
            root, entries = entries[0], inner
    feeds = sorted(entry for entry in entries if entry.is_file() and entry.suffix.lower() in FEED_SUFFIXES)
    if len(feeds) > 1:
        raise SourceError(f"{label}: more than one feed in the zip ({', '.join(f.name for f in feeds)})")
    if feeds:
        return Source("feed", feeds[0], root, root, "the zip's folder")
    if len(entries) == 1 and entries[0].is_dir():
        root = entries[0]  # zip of a folder: the ImageFolder is its only top-level folder
        if not any(entry.is_dir() for entry in root.iterdir()):
            root = root.parent  # ...unless that folder is itself a category
    return Source("folder", root, root, root, "the zip's folder")
