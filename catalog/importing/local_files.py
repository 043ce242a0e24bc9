"""Reading a feed's local image files without ever leaving the feed's folder.

Whoever writes a feed must not be able to make the import read (and then publish
under /media/) any other file on the server: not by an absolute path, not by '../',
not by a symbolic link inside the folder that points out of it, and not by swapping
a link in while the import runs. So the path is resolved and checked against the
folder before anything is opened, and then opened one component at a time starting
from the folder, with O_NOFOLLOW: a component that has become a link since the check
makes the open fail instead of following it. Only regular files are opened, so a
FIFO or a device (/dev/zero) can neither block the import nor feed it endless bytes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

# Linux's PATH_MAX: a longer path cannot name a file, so it is refused without a look.
MAX_PATH_CHARS = 4096

_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO swapped in after the type check must not wait for a writer.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


# O_NOFOLLOW met a link that realpath did not resolve: swapped in after the check, or a loop.
_LINK_CHANGED = "refused, a symbolic link on the path loops or changed while the import read it"


class LocalImageError(ValueError):
    """The local image cannot be had; str() is the reason, for the caller to prefix with the path."""


def read_confined(ref: str, *, base_dir: Path, root: Path, root_name: str, max_bytes: int) -> bytes:
    """The bytes of the file `ref` names (relative to base_dir, or absolute), which must be inside `root`.

    root_name says what root is in messages ("the feed folder", "the zip's folder", ...).
    """
    parts = confined_parts(ref, base_dir=base_dir, root=root, root_name=root_name)
    return read_beneath(Path(os.path.realpath(root)), parts, max_bytes)


def confined_parts(ref: str, *, base_dir: Path, root: Path, root_name: str) -> tuple[str, ...]:
    """The components of `ref`'s real path below the real `root`; refuses a path that leads out.

    Nothing is opened here (realpath only looks at links), so a refused path has not been read.
    """
    if "\0" in ref:
        raise LocalImageError("refused, the path contains a NUL character")
    if len(ref) > MAX_PATH_CHARS:
        raise LocalImageError(
            f"refused, the path is {len(ref)} characters long, over the {MAX_PATH_CHARS}-character limit"
        )
    real_root = os.path.realpath(root)
    joined = os.path.join(os.path.abspath(base_dir), ref)  # an absolute ref replaces base_dir
    real = os.path.realpath(joined)
    if not _is_within(real, real_root):
        # Said apart only to help whoever fixes the feed: both are refused alike. As written,
        # the path stays in its folder: only a link can have taken it out.
        lexical = os.path.normpath(joined)
        through_link = any(
            _is_within(lexical, folder) for folder in (os.path.abspath(base_dir), os.path.abspath(root), real_root)
        )
        raise LocalImageError(
            f"refused, the path leads outside {root_name}" + (" through a symbolic link" if through_link else "")
        )
    return Path(real).relative_to(real_root).parts


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def read_beneath(real_root: Path, parts: tuple[str, ...], max_bytes: int) -> bytes:
    """The regular file real_root/parts..., reached without following any symbolic link."""
    if not parts:
        raise LocalImageError("is a folder, not an image file")
    try:
        dir_fd = os.open(real_root, _DIRECTORY_FLAGS)
    except OSError as exc:
        raise LocalImageError(_reason(exc)) from None
    try:
        for name in parts[:-1]:
            next_fd = _open_component(name, _DIRECTORY_FLAGS, dir_fd)
            os.close(dir_fd)
            dir_fd = next_fd
        _check_regular(os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False), max_bytes)
        fd = _open_component(parts[-1], _FILE_FLAGS, dir_fd)
        with os.fdopen(fd, "rb") as handle:
            status = os.fstat(handle.fileno())
            _check_regular(status, max_bytes)  # the same kind of file as checked above
            content = _read_at_most(handle, max_bytes + 1, expected=status.st_size)
    except OSError as exc:
        raise LocalImageError(_reason(exc)) from None
    finally:
        os.close(dir_fd)
    if len(content) > max_bytes:  # it grew after the size check
        raise LocalImageError(f"file is over the {max_bytes}-byte limit")
    return content


def _read_at_most(handle, limit: int, *, expected: int) -> bytes:
    """Up to `limit` bytes. Asks for the size fstat gave (plus one, to see a file that grew)
    first: read(limit) would allocate the whole limit for every small picture."""
    chunks = [handle.read(min(expected + 1, limit))]
    total = len(chunks[0])
    while total > expected and total < limit and (chunk := handle.read(min(1024 * 1024, limit - total))):
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _open_component(name: str, flags: int, dir_fd: int) -> int:
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        # O_NOFOLLOW on a link fails with ELOOP, or ENOTDIR with O_DIRECTORY: say which it was.
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            with contextlib.suppress(OSError):
                if stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                    raise LocalImageError(_LINK_CHANGED) from None
        raise


def _check_regular(status: os.stat_result, max_bytes: int) -> None:
    if stat.S_ISDIR(status.st_mode):
        raise LocalImageError("is a folder, not an image file")
    if stat.S_ISLNK(status.st_mode):
        raise LocalImageError(_LINK_CHANGED)
    if not stat.S_ISREG(status.st_mode):
        raise LocalImageError("refused, not a regular file (a device, FIFO or socket)")
    if status.st_size > max_bytes:
        raise LocalImageError(f"file is {status.st_size} bytes, over the {max_bytes}-byte limit")


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "no such file"
    if exc.errno == errno.ELOOP:
        return _LINK_CHANGED
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return f"cannot be read ({exc.strerror or exc})"
