"""pipeline.trainer_cluster picks the Trainer step's component and what its custom_config
carries; every cluster keeps the SicotTrainer step."""

import pytest

from components.sicot_trainer import SicotTrainer
from components.tfjob_sicot_trainer import TFJOB_KEY, TFJobSicotTrainer
from components.vertex_sicot_trainer import VertexSicotTrainer
from sicot.config import ConfigError, load_config
from tfx_pipeline.pipeline import create_pipeline
from tfx_pipeline.trainer_cluster import describe, trainer_step
from tests.tiny_catalogue import catalogue_settings


@pytest.mark.parametrize(
    "settings, component, keys",
    [
        ([], SicotTrainer, set()),
        (["pipeline.trainer_cluster=vertex", "pipeline.vertex_project=p"], VertexSicotTrainer,
         {"ai_platform_training_args", "ai_platform_enable_vertex", "ai_platform_vertex_region"}),
        (["pipeline.trainer_cluster=tfjob"], TFJobSicotTrainer, {TFJOB_KEY}),
    ],
)
def test_each_cluster_has_its_trainer_component_and_custom_config_keys(settings, component, keys):
    trainer_class, custom = trainer_step(load_config(None, settings))
    assert trainer_class is component and set(custom) == keys


def test_an_unknown_cluster_is_refused_with_the_known_ones():
    with pytest.raises(ConfigError, match="unknown pipeline.trainer_cluster 'slurm' .known: none, vertex, tfjob"):
        trainer_step(load_config(None, ["pipeline.trainer_cluster=slurm"]))
    with pytest.raises(ConfigError, match="unknown pipeline.trainer_cluster"):
        describe(load_config(None, ["pipeline.trainer_cluster=slurm"]))


def test_describe_names_the_cluster_in_use_only():
    assert describe(load_config(None, [])) == ""
    assert describe(load_config(None, ["pipeline.trainer_cluster=vertex", "pipeline.vertex_project=p"])).startswith(
        "Trainer: a Vertex AI CustomJob")
    assert describe(load_config(None, ["pipeline.trainer_cluster=tfjob"])).startswith("Trainer: a Kubeflow TFJob")


@pytest.mark.parametrize("cluster", [["pipeline.trainer_cluster=tfjob"],
                                     ["pipeline.trainer_cluster=vertex", "pipeline.vertex_project=p"]])
def test_the_step_keeps_the_id_sicot_trainer(tmp_path, cluster):
    pipeline = create_pipeline(load_config(None, [f"pipeline.output_dir={tmp_path}", *cluster,
                                                  *catalogue_settings(tmp_path)]))
    trainer = next(c for c in pipeline.components if c.id == "SicotTrainer")
    assert type(trainer) is not SicotTrainer and isinstance(trainer, SicotTrainer)
