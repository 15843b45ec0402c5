"""Console output a person can follow: stage lines, quiet libraries.

``quiet_libraries()`` must run before TensorFlow is imported. It silences:
- TensorFlow's C++ logging (CUDA/TensorRT probes on a machine without a GPU); Python
  exceptions still come through,
- google-api-core's notice that Python 3.11 support ends in 2027 (FutureWarning),
- absl INFO logging from TFX/Beam, except the LocalDagRunner's "Component X is
  running/finished" lines, which become stage lines with their duration.
Warnings and errors still come through.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings

_STARTED: dict[str, float] = {}
_INSTALLED = False


def say(message: str) -> None:
    print(message, flush=True)


def stage(name: str, detail: str = "") -> None:
    say(f"==> {name}" + (f"  {detail}" if detail else ""))


def detail(message: str) -> None:
    """A line under the current stage (indented by four spaces)."""
    say("    " + message)


class _ComponentStageFilter(logging.Filter):
    """Turns TFX's component start/finish INFO records into stage lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return not _is_known_noise(record)
        msg = record.getMessage()
        if msg.startswith("Component ") and msg.endswith(" is running."):
            name = msg[len("Component ") : -len(" is running.")]
            _STARTED[name] = time.time()
            stage(f"[{name}] running")
        elif msg.startswith("Component ") and msg.endswith(" is finished."):
            name = msg[len("Component ") : -len(" is finished.")]
            took = time.time() - _STARTED.get(name, time.time())
            say(f"    [{name}] done in {took:.1f} s")
        return False


_NOISE = (
    "Tensorflow version (",  # TFX's "TF 2.x may be incompatible" notice
    "tensorflow_text is not available",
    "Examples artifact does not have payload_format",
    "is not compiled with XLA",
    "You are using a Python version",
    "This output type hint will be ignored",
    "Skipping registering GPU devices",
    "could not be found in the schema",
    "ArtifactQuery.property_predicate is not supported",
    "crcmod package not found",
    "Tables initialized inside a tf.function",
    "tf_record_iterator (from tensorflow.python.lib.io.tf_record) is deprecated",
)


def _is_known_noise(record: logging.LogRecord) -> bool:
    msg = record.getMessage()
    return any(n in msg for n in _NOISE)


def _quiet_unraisable(unraisable) -> None:
    """Drops TensorFlow's "Exception ignored in AtomicFunction.__del__" at interpreter
    exit (a traced function freed after its module's globals are gone: harmless, and a
    page of tracebacks after a successful run); everything else goes to Python's hook."""
    owner = getattr(unraisable.object, "__qualname__", "")
    if isinstance(unraisable.exc_value, TypeError) and owner == "AtomicFunction.__del__":
        return
    sys.__unraisablehook__(unraisable)


def quiet_libraries() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    warnings.filterwarnings("ignore", message="You are using a Python version", category=FutureWarning)
    warnings.filterwarnings("ignore", message="Support for google-cloud-storage", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    # Keras notes that fit() ignores shuffle=True for a tf.data input (ours is shuffled).
    warnings.filterwarnings("ignore", message="`shuffle=True` was passed", category=UserWarning)
    # Keras warns when a finite dataset of unknown cardinality (our filtered eval split)
    # ends; validation is meant to end there.
    warnings.filterwarnings("ignore", message="Your input ran out of data", category=UserWarning)
    warnings.filterwarnings("ignore", message=".*is deprecated.*", category=UserWarning)
    warnings.filterwarnings("ignore", message=".*Tensorflow version.*")
    global _INSTALLED
    if _INSTALLED:
        return
    _INSTALLED = True
    sys.unraisablehook = _quiet_unraisable
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ComponentStageFilter())
    handler.setFormatter(logging.Formatter("    %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in ("absl", "apache_beam", "tensorflow"):
        logger = logging.getLogger(name)
        for h in list(logger.handlers):
            logger.removeHandler(h)
        logger.setLevel(logging.INFO)
        logger.propagate = True
    # TensorFlow saves and restores absl's verbosity flag around SavedModel tracing;
    # set the flag itself, not just the logger level, or INFO (the stage lines) is lost.
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.INFO)
