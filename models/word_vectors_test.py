import struct

import numpy as np
import pytest

from models.word_vectors import aligned_embedding_matrix, read_vectors

VECTORS = {"red": [1.0, 2.0, 3.0], "Shoe": [4.0, 5.0, 6.0], "hat": [7.0, 8.0, 9.0]}


def _write(tmp_path, fmt):
    path = tmp_path / f"v.{fmt}"
    if fmt == "npy_index":
        import pyarrow as pa
        import pyarrow.parquet as pq

        path.mkdir()
        np.save(path / "emb.npy", np.asarray(list(VECTORS.values()), dtype=np.float32))
        pq.write_table(pa.table({"index": list(VECTORS)}), path / "index.parquet")
    elif fmt == "glove_text":
        path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in VECTORS.items()))
    elif fmt == "word2vec_text":
        path.write_text(f"{len(VECTORS)} 3\n" + "".join(f"{w} {' '.join(map(str, v))}\n" for w, v in VECTORS.items()))
    else:
        with open(path, "wb") as f:
            f.write(f"{len(VECTORS)} 3\n".encode())
            for w, v in VECTORS.items():
                f.write(w.encode() + b" " + struct.pack("<3f", *v) + b"\n")
    return path


@pytest.mark.parametrize("fmt", ["glove_text", "word2vec_text", "word2vec_binary", "npy_index"])
def test_every_format_reads_and_is_detected(tmp_path, fmt):
    path = _write(tmp_path, fmt)
    for given in (fmt, "auto"):
        got = {w: v.tolist() for w, v in read_vectors(path, given)}
        assert got == VECTORS


def test_alignment_follows_the_shifted_vocabulary_ids_and_reports_coverage(tmp_path):
    path = _write(tmp_path, "glove_text")
    vocab = ["shoe", "red", "unseen", "blue"]
    alignment = aligned_embedding_matrix(vocab, path)
    m = alignment.matrix
    assert m.shape == (5, 3)
    np.testing.assert_array_equal(m[0], 0.0)  # padding row
    np.testing.assert_array_equal(m[1], VECTORS["Shoe"])  # found lower-cased
    np.testing.assert_array_equal(m[2], VECTORS["red"])
    assert not np.allclose(m[3], 0.0)  # random init for missing words
    assert alignment.found == 2 and alignment.coverage == 0.5


def test_missing_file_and_zero_coverage_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="word vector file not found"):
        list(read_vectors(tmp_path / "none.txt"))
    with pytest.raises(ValueError, match="none of the 1 vocabulary words"):
        aligned_embedding_matrix(["zebra"], _write(tmp_path, "glove_text"))


def test_package_spec_resolves_an_installed_packages_data_folder(tmp_path, monkeypatch):
    folder = _write(tmp_path, "npy_index")
    package = tmp_path / "pkg" / "fake_vectors"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"ROOT = {str(folder)!r}\n")
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    got = {w: v.tolist() for w, v in read_vectors("package:fake_vectors")}
    assert got == VECTORS
    with pytest.raises(FileNotFoundError, match="'no_such_vectors' is not installed"):
        list(read_vectors("package:no_such_vectors"))
