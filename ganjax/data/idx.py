"""Reader for MNIST-format IDX files (LeCun et al.), plain or gzip-compressed.

Format: two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
0x0D float32, 0x0E float64), a byte giving the number of dimensions, then one big-endian
uint32 per dimension, then the data in C order, big-endian.
"""

import gzip
import os
import zlib

import numpy as np

from ganjax.errors import CorruptData, UserError

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
SPLIT_PREFIX = {"train": "train", "test": "t10k"}


def read_idx(path: str) -> np.ndarray:
  """Reads one IDX file into a native-endian numpy array."""
  opener = gzip.open if path.endswith(".gz") else open
  try:
    with opener(path, "rb") as f:
      data = f.read()
  except (EOFError, gzip.BadGzipFile, zlib.error) as e:
    raise CorruptData(f"{path} is truncated or corrupt: {e}") from None
  if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
    raise CorruptData(f"{path} is not an IDX file (bad magic number)")
  ndim = data[3]
  shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
  dtype = np.dtype(_DTYPES[data[2]])
  offset = 4 + 4 * ndim
  expected = int(np.prod(shape)) * dtype.itemsize
  if len(data) - offset != expected:
    raise CorruptData(f"{path} is truncated or corrupt: {len(data) - offset} data bytes, "
                      f"header says {expected}")
  return np.frombuffer(data, dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str, array: np.ndarray) -> None:
  """Writes ``array`` as an IDX file (gzip-compressed when ``path`` ends in .gz)."""
  codes = {np.dtype(v).newbyteorder("="): k for k, v in _DTYPES.items()}
  code = codes[array.dtype]
  header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
  body = array.astype(np.dtype(_DTYPES[code])).tobytes()
  opener = gzip.open if path.endswith(".gz") else open
  with opener(path, "wb") as f:
    f.write(header + body)


def find_split(directory: str, split: str) -> tuple[str, str] | None:
  """Paths of ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` in ``directory``, if present."""
  prefix = SPLIT_PREFIX.get(split, split)
  found = []
  for kind in ("images-idx3", "labels-idx1"):
    for suffix in (".gz", ""):
      path = os.path.join(directory, f"{prefix}-{kind}-ubyte{suffix}")
      if os.path.isfile(path):
        found.append(path)
        break
  return tuple(found) if len(found) == 2 else None


def load_split(directory: str, split: str) -> tuple[np.ndarray, np.ndarray]:
  """(images uint8 (N, H, W, 1), labels int32 (N,)) of an MNIST-format split."""
  paths = find_split(directory, split)
  if paths is None:
    raise UserError(f"no IDX files for split {split!r} in {directory}")
  images, labels = (read_idx(p) for p in paths)
  if images.ndim != 3 or len(images) != len(labels):
    raise CorruptData(f"IDX files in {directory} do not hold N images with N labels")
  return images[..., None].astype(np.uint8), labels.astype(np.int32)
