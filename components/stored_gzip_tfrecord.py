"""Writing TFRecords as gzip files whose deflate blocks are stored, not compressed.

TFX's Examples artifact is GZIP TFRecords (``data_tfrecord-*.gz``), read by every
component and by ``tf.data.TFRecordDataset(..., compression_type="GZIP")``. Our
examples are almost all image bytes, which are compressed already (JPEG, PNG, GIF,
WebP re-encoded as PNG): zlib at Beam's default level saves 0.4% of their size and
was a third of the ingest's CPU time (3.1 s of 10 s for 10k 96 px images, cProfile of
``bench/ingest_scaling.py``'s in-memory run). Level 0 writes the same gzip container
with stored blocks at memory speed, so readers are unchanged. (A data set of BMPs, the
one uncompressed format TensorFlow decodes, is stored uncompressed too.)

Beam's ``WriteToTFRecord`` has no compression level; this is its sink with the file
opened through :class:`gzip.GzipFile` at level 0 and the record framing of Beam's
TFRecord writer (length, masked CRC32C of the length, data, masked CRC32C of the data).
"""

from __future__ import annotations

import gzip

import apache_beam as beam
from apache_beam.io import filebasedsink
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.tfrecordio import _TFRecordUtil

STORED = 0  # the zlib level: deflate blocks stored as they are


class _StoredGzipFile(gzip.GzipFile):
    """A gzip writer at level 0 that also closes the file it writes into."""

    def __init__(self, raw):
        super().__init__(fileobj=raw, mode="wb", compresslevel=STORED, mtime=0)
        self._raw = raw

    def close(self):
        try:
            super().close()
        finally:
            self._raw.close()


class StoredGzipTFRecordSink(filebasedsink.FileBasedSink):
    def __init__(self, file_path_prefix: str, file_name_suffix: str = ".gz"):
        super().__init__(file_path_prefix, coder=beam.coders.BytesCoder(), file_name_suffix=file_name_suffix,
                         num_shards=0, shard_name_template=None, mime_type="application/octet-stream",
                         compression_type=CompressionTypes.UNCOMPRESSED)

    def open(self, temp_path):
        return _StoredGzipFile(FileSystems.create(temp_path, self.mime_type, CompressionTypes.UNCOMPRESSED))

    def write_encoded_record(self, file_handle, value):
        _TFRecordUtil.write_record(file_handle, value)


class WriteToStoredGzipTFRecord(beam.PTransform):
    """``beam.io.WriteToTFRecord(prefix, file_name_suffix=".gz")`` at zlib level 0."""

    def __init__(self, file_path_prefix: str, file_name_suffix: str = ".gz"):
        super().__init__()
        self._sink = StoredGzipTFRecordSink(file_path_prefix, file_name_suffix)

    def expand(self, pcoll):
        return pcoll | beam.io.Write(self._sink)
