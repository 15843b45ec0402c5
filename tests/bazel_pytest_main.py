"""Entry point for Bazel py_test targets: run pytest on the test files given as arguments.

The tests are pytest-style (plain ``def test_...`` functions), so each py_test uses this
file as its ``main`` and passes its test file path(s) (relative to the runfiles root,
which is the working directory Bazel gives a test) as ``args``.
"""

from __future__ import annotations

import os
import sys

import pytest


def main(argv: list[str]) -> int:
    args = list(argv)
    # The runfiles tree is not a place to keep a cache.
    args += ["-p", "no:cacheprovider"]
    # Bazel collects a JUnit XML report from here when it is set.
    xml_output = os.environ.get("XML_OUTPUT_FILE")
    if xml_output:
        args.append(f"--junitxml={xml_output}")
    # Keep pytest's tmp_path directories in Bazel's per-test scratch directory.
    test_tmpdir = os.environ.get("TEST_TMPDIR")
    if test_tmpdir:
        args.append(f"--basetemp={os.path.join(test_tmpdir, 'pytest')}")
    return int(pytest.main(args))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
