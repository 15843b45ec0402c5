"""The per-split stored-gzip TFRecord writer: what TensorFlow and gzip read back, the
shard names, the empty split, and that it stores rather than compresses."""

import gzip

import apache_beam as beam
import tensorflow as tf

from components.stored_gzip_tfrecord import WriteSplitsToStoredGzipTFRecord


def test_tensorflow_reads_back_every_record_of_each_split_and_nothing_is_compressed(tmp_path):
    train = [b"", b"x", bytes(range(256)) * 40, b"a" * 100_000, *(f"record {i}".encode() for i in range(500))]
    evaluation = [f"eval {i}".encode() for i in range(7)]
    items = [("train", r) for r in train] + [("eval", r) for r in evaluation]
    # A shard an earlier write left: its records must not be read with the new ones.
    (tmp_path / "out" / "Split-train").mkdir(parents=True)
    (tmp_path / "out" / "Split-train" / "data_tfrecord-00007-of-00009.gz").write_bytes(b"stale")
    with beam.Pipeline(argv=["--direct_running_mode=in_memory"]) as p:
        _ = p | beam.Create(items) | WriteSplitsToStoredGzipTFRecord(
            str(tmp_path / "out"), ("train", "eval", "validation"), "data_tfrecord")
    out = tmp_path / "out"
    # Only the split folders are left (the temporary folder is gone).
    assert sorted(f.name for f in out.iterdir()) == ["Split-eval", "Split-train", "Split-validation"]
    for split, records in (("train", train), ("eval", evaluation), ("validation", [])):
        files = sorted(str(f) for f in (out / f"Split-{split}").iterdir())
        n = len(files)
        assert [f.rsplit("/", 1)[1] for f in files] == [f"data_tfrecord-{i:05d}-of-{n:05d}.gz" for i in range(n)]
        got = [r for r in tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator()]
        assert sorted(got) == sorted(records), split
        # Stored, not compressed: 100 kB of one letter would shrink to ~100 bytes at any
        # level above 0; here the files hold every payload byte (16 bytes of framing each).
        payload = sum(len(r) for r in records)
        assert sum(len(open(f, "rb").read()) for f in files) >= payload
        assert sum(len(gzip.open(f).read()) for f in files) == payload + 16 * len(records)
    assert len(list((out / "Split-validation").iterdir())) == 1  # the empty split: one empty file
