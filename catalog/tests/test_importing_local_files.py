"""catalog.importing.local_files: a feed's local image paths stay inside its folder, and
are refused before anything is opened."""

import os
from pathlib import Path

import pytest

from catalog.importing.local_files import (
    MAX_PATH_CHARS,
    LocalImageError,
    confined_parts,
    read_beneath,
    read_confined,
)

PICTURE = b"\x89PNG pretend picture bytes"


@pytest.fixture
def layout(tmp_path):
    """tmp_path/feed is the feed's folder (img/a.png inside it); tmp_path/secret.png is outside."""
    feed = tmp_path / "feed"
    (feed / "img").mkdir(parents=True)
    (feed / "img" / "a.png").write_bytes(PICTURE)
    (tmp_path / "secret.png").write_bytes(b"server secret")
    return feed


def read(ref, root, *, max_bytes=1000):
    return read_confined(ref, base_dir=root, root=root, root_name="the feed folder", max_bytes=max_bytes)


def refusal(ref, root, **kwargs) -> str:
    with pytest.raises(LocalImageError) as caught:
        read(ref, root, **kwargs)
    return str(caught.value)


def test_paths_inside_the_folder_are_read(layout):
    assert read("img/a.png", layout) == PICTURE
    assert read("img/../img/./a.png", layout) == PICTURE  # '..' that stays inside is harmless
    assert read(str(layout / "img" / "a.png"), layout) == PICTURE  # absolute, but inside
    (layout / "alias.png").symlink_to("img/a.png")  # a link that stays inside is followed
    assert read("alias.png", layout) == PICTURE


def test_paths_leading_out_are_refused(layout):
    assert refusal("/etc/passwd", layout) == "refused, the path leads outside the feed folder"
    assert refusal("../secret.png", layout) == "refused, the path leads outside the feed folder"
    assert refusal("img/../../secret.png", layout) == "refused, the path leads outside the feed folder"
    assert refusal(str(layout.parent / "secret.png"), layout) == "refused, the path leads outside the feed folder"
    (layout / "img" / "escape.png").symlink_to(layout.parent / "secret.png")
    assert (
        refusal("img/escape.png", layout) == "refused, the path leads outside the feed folder through a symbolic link"
    )
    (layout / "up").symlink_to(layout.parent)
    assert refusal("up/secret.png", layout) == "refused, the path leads outside the feed folder through a symbolic link"


def test_the_folders_own_name_may_be_a_link(tmp_path, layout):
    """An operator's folder reached through a link (/srv/feed -> /data/feed) is still the folder."""
    link = tmp_path / "feed-link"
    link.symlink_to(layout)
    assert read("img/a.png", link) == PICTURE
    assert read(str(layout / "img" / "a.png"), link) == PICTURE


def test_a_path_outside_is_refused_before_it_is_opened(tmp_path, layout):
    """A FIFO blocks whoever opens it for reading until a writer comes: had the check run
    after the open, this test would hang instead of getting the refusal."""
    fifo = tmp_path / "outside.fifo"
    os.mkfifo(fifo)
    assert refusal(str(fifo), layout) == "refused, the path leads outside the feed folder"
    assert refusal("../outside.fifo", layout) == "refused, the path leads outside the feed folder"
    (layout / "fifo-link.png").symlink_to(fifo)
    assert refusal("fifo-link.png", layout) == "refused, the path leads outside the feed folder through a symbolic link"


def test_only_regular_files_are_read(layout):
    os.mkfifo(layout / "pipe.png")
    assert refusal("pipe.png", layout) == "refused, not a regular file (a device, FIFO or socket)"
    assert refusal("img", layout) == "is a folder, not an image file"
    assert refusal(".", layout) == "is a folder, not an image file"
    assert refusal("img/missing.png", layout) == "no such file"
    assert refusal("img/a.png/deeper.png", layout) == "no such file"


def test_size_nul_and_length_limits(layout):
    assert refusal("img/a.png", layout, max_bytes=10) == f"file is {len(PICTURE)} bytes, over the 10-byte limit"
    assert refusal("img/a.png\0.txt", layout) == "refused, the path contains a NUL character"
    long = "a/" * (MAX_PATH_CHARS // 2) + "x.png"
    assert refusal(long, layout) == f"refused, the path is {len(long)} characters long, over the 4096-character limit"
    assert refusal("x" * 300 + ".png", layout) == "cannot be read (File name too long)"


def test_a_link_swapped_in_after_the_check_is_not_followed(tmp_path, layout):
    """The check and the open are two steps; a folder replaced by a link between them
    must not lead the open outside."""
    parts = confined_parts("img/a.png", base_dir=layout, root=layout, root_name="the feed folder")
    assert parts == ("img", "a.png")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "a.png").write_bytes(b"server secret")
    (layout / "img").rename(layout / "img-old")
    (layout / "img").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(LocalImageError) as caught:
        read_beneath(Path(os.path.realpath(layout)), parts, 1000)
    assert str(caught.value) == "refused, a symbolic link on the path loops or changed while the import read it"
    # ...and the file itself swapped for a link:
    (layout / "img").unlink()
    (layout / "img-old").rename(layout / "img")
    (layout / "img" / "a.png").unlink()
    (layout / "img" / "a.png").symlink_to(tmp_path / "elsewhere" / "a.png")
    with pytest.raises(LocalImageError) as caught:
        read_beneath(Path(os.path.realpath(layout)), parts, 1000)
    assert str(caught.value) == "refused, a symbolic link on the path loops or changed while the import read it"
