"""The pipeline's Trainer: TFX's generic Trainer that can start from the word2vec step.

``SicotTrainer`` has the generic Trainer's spec, executor and ``run_fn``
(models/trainer.py), with one more optional input channel, ``word_vectors`` (the
TitleWord2Vec step's artifact); its executor hands the artifact's URI to ``run_fn`` as
``custom_config[WORD_VECTORS_URI]`` (models/custom_config.py). On a replica of a training
cluster that is not the chief it only runs ``run_fn``, which trains and writes no model.
"""

from __future__ import annotations

from typing import Any

from tfx import types
from tfx.components.trainer import executor as trainer_executor
from tfx.components.util import udf_utils
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter
from tfx.utils import json_utils

from components.title_word2vec import WordVectors
from models.custom_config import WORD_VECTORS_URI
from training.distribution import is_chief


class SicotTrainerSpec(standard_component_specs.TrainerSpec):
    INPUTS = {
        **standard_component_specs.TrainerSpec.INPUTS,
        "word_vectors": ChannelParameter(type=WordVectors, optional=True),
    }


class SicotTrainerExecutor(trainer_executor.GenericExecutor):
    def Do(self, input_dict: dict[str, list[types.Artifact]], output_dict, exec_properties: dict[str, Any]):
        vectors = input_dict.get("word_vectors") or []
        if vectors:
            custom = json_utils.loads(exec_properties.get("custom_config") or "null") or {}
            custom[WORD_VECTORS_URI] = vectors[0].uri
            exec_properties = {**exec_properties, "custom_config": json_utils.dumps(custom)}
        if not is_chief():
            # A worker or parameter server of a cluster (e.g. a Vertex AI CustomJob's
            # replica: components/vertex_sicot_trainer.py) trains and writes no model;
            # the generic executor's check that the model was written is the chief's.
            udf_utils.get_fn(exec_properties, "run_fn")(self._GetFnArgs(input_dict, output_dict, exec_properties))
            return None
        return super().Do(input_dict, output_dict, exec_properties)


class SicotTrainer(base_component.BaseComponent):
    """The generic Trainer with an optional ``word_vectors`` input."""

    SPEC_CLASS = SicotTrainerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(SicotTrainerExecutor)

    def __init__(
        self,
        examples: types.BaseChannel,
        transform_graph: types.BaseChannel,
        schema: types.BaseChannel,
        run_fn: str,
        train_args,
        eval_args,
        custom_config: dict[str, Any],
        word_vectors: types.BaseChannel | None = None,
    ):
        spec = SicotTrainerSpec(
            examples=examples,
            transform_graph=transform_graph,
            schema=schema,
            train_args=train_args,
            eval_args=eval_args,
            run_fn=run_fn,
            custom_config=json_utils.dumps(custom_config),
            model=types.Channel(type=standard_artifacts.Model),
            model_run=types.Channel(type=standard_artifacts.ModelRun),
            word_vectors=word_vectors,
        )
        super().__init__(spec=spec)
