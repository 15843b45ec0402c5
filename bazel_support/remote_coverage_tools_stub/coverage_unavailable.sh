#!/bin/sh
# Offline stub for @remote_coverage_tools (see //WORKSPACE): coverage is not available.
echo "bazel coverage is not supported offline (@remote_coverage_tools is a stub)" >&2
exit 1
