"""The stored-gzip TFRecord sink: what TensorFlow and gzip read back, and that it stores."""

import gzip

import apache_beam as beam
import tensorflow as tf

from components.stored_gzip_tfrecord import WriteToStoredGzipTFRecord


def test_tensorflow_reads_back_every_record_of_the_stored_gzip_files(tmp_path):
    records = [b"", b"x", bytes(range(256)) * 40, b"a" * 100_000, *(f"record {i}".encode() for i in range(500))]
    with beam.Pipeline(argv=["--direct_running_mode=in_memory"]) as p:
        _ = p | beam.Create(records) | WriteToStoredGzipTFRecord(str(tmp_path / "out" / "data_tfrecord"))
    files = sorted(str(f) for f in (tmp_path / "out").glob("data_tfrecord-*.gz"))
    assert files, list(tmp_path.rglob("*"))
    got = [r for r in tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator()]
    assert sorted(got) == sorted(records)
    # Stored, not compressed: 100 kB of one letter would shrink to ~100 bytes at any
    # level above 0; here the files hold every payload byte (16 bytes of framing each).
    payload = sum(len(r) for r in records)
    assert sum(len(open(f, "rb").read()) for f in files) >= payload
    assert sum(len(gzip.open(f).read()) for f in files) == payload + 16 * len(records)
