"""The custom_config contract between the pipeline and its components.

TFX hands each custom component a ``custom_config`` dict (Transform's
``preprocessing_fn``, the Trainer's ``run_fn``) and stores it with the execution, where
it is also part of the component's cache key. This module is the one place that writes
and reads it:

- ``SICOT_CONFIG``: the configuration as JSON. ``encode(config, code_version,
  sections)`` keeps only the sections a component reads (Transform: ``preprocessing``;
  the word2vec step: ``word2vec``, ``model``, ``train``), so that its cache key changes
  only with its own settings; without ``sections`` (the Trainer) every setting but
  NOT_READ_BY_TRAINING, and for a visual-only model none of the semantic stream's
  (``SicotConfig.without_unread``): a baseline is reused across comparisons of
  co-training settings.
- ``CODE_VERSION``: a hash of the code in models/, components/ and sicot/
  (tfx_pipeline/pipeline.py: code_version); the word2vec step gets it as its own
  ``code_version`` parameter.
- ``WORD_VECTORS_URI``: added by the Trainer's executor (components/sicot_trainer.py),
  the URI of the word2vec step's artifact when the pipeline has one.
- A Trainer that runs as a Vertex AI CustomJob also carries TFX's Vertex trainer keys
  (the job's worker pools, project and region; tfx_pipeline/vertex_training.py), one
  that runs as a Kubeflow TFJob the job's template (``sicot_tfjob``;
  tfx_pipeline/tfjob_training.py); its executor reads them and ``decode`` ignores them.

``decode(custom_config)`` gives the configuration back (defaults for what was left out;
a setting added to sicot after the execution was recorded reads back as it was before it
existed: ``SicotConfig.from_recorded``),
``decode_execution_property(raw)`` the same from the JSON string ML Metadata stores,
``word_vectors_uri(custom_config)`` the artifact URI or None.
"""

from __future__ import annotations

import json
from typing import Any

from sicot.config import SicotConfig

SICOT_CONFIG = "sicot_config"
CODE_VERSION = "code_version"
WORD_VECTORS_URI = "word_vectors_uri"

# Settings that no training reads (what is scored, compared, indexed or served): left out
# of the Trainer's custom_config, so that scoring a trained model on another split, or
# in another comparison, reuses it from the cache instead of training it again.
NOT_READ_BY_TRAINING = (("compare",), ("index",), ("service",), ("eval", "split"))


def encode(config: SicotConfig, code_version: str = "", sections: tuple[str, ...] = ()) -> dict[str, str]:
    """The custom_config of a component (also its cache key); see the module docstring."""
    tree = (config if sections else config.without_unread()).to_dict()
    if sections:
        tree = {name: tree[name] for name in sections}
    else:
        for path in NOT_READ_BY_TRAINING:
            parent = tree
            for key in path[:-1]:
                parent = parent[key]
            parent.pop(path[-1])
    return {SICOT_CONFIG: json.dumps(tree, sort_keys=True), CODE_VERSION: code_version}


def decode(custom_config: dict[str, Any] | None) -> SicotConfig:
    if not custom_config or SICOT_CONFIG not in custom_config:
        return SicotConfig()
    return SicotConfig.from_recorded(json.loads(custom_config[SICOT_CONFIG]))


def decode_execution_property(raw: str) -> SicotConfig:
    """The configuration from a custom_config execution property as ML Metadata stores it."""
    return decode(json.loads(raw))


def word_vectors_uri(custom_config: dict[str, Any] | None) -> str | None:
    return (custom_config or {}).get(WORD_VECTORS_URI)
