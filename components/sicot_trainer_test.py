"""SicotTrainer: the generic Trainer plus the optional word_vectors input, whose URI its
executor hands to run_fn in custom_config (the executor runs here with a stub run_fn)."""

import json
import os

import pytest
from tfx import types
from tfx.components.trainer import executor as trainer_executor
from tfx.proto import trainer_pb2
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs
from tfx.utils import json_utils, proto_utils

from components.sicot_trainer import SicotTrainer, SicotTrainerExecutor, SicotTrainerSpec
from components.title_word2vec import WordVectors
from models import custom_config as contract

RUN_FN = f"{__name__}.recording_run_fn"
SEEN = []


def recording_run_fn(fn_args):
    """A run_fn that records what it got and writes the model folder the Trainer checks for."""
    SEEN.append(fn_args)
    os.makedirs(fn_args.serving_model_dir)


@pytest.fixture(autouse=True)
def _clear_seen():
    SEEN.clear()


def channels(with_vectors: bool) -> dict:
    out = dict(
        examples=types.Channel(type=standard_artifacts.Examples),
        transform_graph=types.Channel(type=standard_artifacts.TransformGraph),
        schema=types.Channel(type=standard_artifacts.Schema),
    )
    if with_vectors:
        out["word_vectors"] = types.Channel(type=WordVectors)
    return out


def trainer(with_vectors: bool, custom_config=None) -> SicotTrainer:
    return SicotTrainer(
        run_fn=RUN_FN,
        train_args=trainer_pb2.TrainArgs(splits=["train"]),
        eval_args=trainer_pb2.EvalArgs(splits=["validation"]),
        custom_config=custom_config if custom_config is not None else {"a": 1},
        **channels(with_vectors),
    )


def test_the_spec_is_the_trainers_plus_an_optional_word_vectors_channel():
    inputs = SicotTrainerSpec.INPUTS
    assert set(inputs) == set(standard_component_specs.TrainerSpec.INPUTS) | {"word_vectors"}
    assert inputs["word_vectors"].type is WordVectors and inputs["word_vectors"].optional
    assert SicotTrainerSpec.OUTPUTS == standard_component_specs.TrainerSpec.OUTPUTS
    assert SicotTrainerSpec.PARAMETERS == standard_component_specs.TrainerSpec.PARAMETERS


def test_the_component_with_word_vectors():
    component = trainer(True, {"sicot_config": "{}", "code_version": "abc"})
    assert component.id == "SicotTrainer"
    assert component.EXECUTOR_SPEC.executor_class is SicotTrainerExecutor
    assert issubclass(SicotTrainerExecutor, trainer_executor.GenericExecutor)
    assert set(component.inputs) == {"examples", "transform_graph", "schema", "word_vectors"}
    assert component.inputs["word_vectors"].type is WordVectors
    assert set(component.outputs) == {"model", "model_run"}
    props = component.exec_properties
    assert props["run_fn"] == RUN_FN
    assert json_utils.loads(props["custom_config"]) == {"sicot_config": "{}", "code_version": "abc"}
    assert json.loads(props["train_args"]) == {"splits": ["train"]}
    assert json.loads(props["eval_args"]) == {"splits": ["validation"]}


def test_the_component_without_word_vectors_has_no_such_input():
    component = trainer(False)
    assert set(component.inputs) == {"examples", "transform_graph", "schema"}


# --- the executor ---------------------------------------------------------------


def artifacts(tmp_path, with_vectors: bool):
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    examples.split_names = artifact_utils.encode_split_names(["train", "validation", "eval"])
    graph = standard_artifacts.TransformGraph()
    graph.uri = str(tmp_path / "transform_graph")
    schema = standard_artifacts.Schema()
    schema.uri = str(tmp_path / "schema")
    os.makedirs(schema.uri)
    open(os.path.join(schema.uri, "schema.pbtxt"), "w").close()
    inputs = {"examples": [examples], "transform_graph": [graph], "schema": [schema]}
    if with_vectors:
        vectors = WordVectors()
        vectors.uri = str(tmp_path / "word_vectors" / "7")
        inputs["word_vectors"] = [vectors]
    model, run = standard_artifacts.Model(), standard_artifacts.ModelRun()
    model.uri, run.uri = str(tmp_path / "model"), str(tmp_path / "model_run")
    return inputs, {"model": [model], "model_run": [run]}


def exec_properties(custom_config) -> dict:
    return {
        "run_fn": RUN_FN,
        "train_args": proto_utils.proto_to_json(trainer_pb2.TrainArgs(splits=["train"])),
        "eval_args": proto_utils.proto_to_json(trainer_pb2.EvalArgs(splits=["validation"])),
        "custom_config": json_utils.dumps(custom_config),
    }


def test_the_executor_hands_the_word_vectors_uri_to_run_fn(tmp_path):
    inputs, outputs = artifacts(tmp_path, with_vectors=True)
    props = exec_properties({contract.SICOT_CONFIG: "{}", contract.CODE_VERSION: "v1"})
    before = dict(props)
    SicotTrainerExecutor().Do(inputs, outputs, props)
    (fn_args,) = SEEN
    assert fn_args.custom_config == {contract.SICOT_CONFIG: "{}", contract.CODE_VERSION: "v1",
                                     contract.WORD_VECTORS_URI: str(tmp_path / "word_vectors" / "7")}
    assert contract.word_vectors_uri(fn_args.custom_config) == str(tmp_path / "word_vectors" / "7")
    assert props == before  # the caller's exec properties (ML Metadata's record) are not changed
    assert fn_args.transform_graph_path == str(tmp_path / "transform_graph")
    assert fn_args.train_files == [str(tmp_path / "examples" / "Split-train" / "*")]
    assert fn_args.eval_files == [str(tmp_path / "examples" / "Split-validation" / "*")]
    assert fn_args.serving_model_dir.startswith(str(tmp_path / "model"))


def test_without_word_vectors_the_custom_config_is_untouched(tmp_path):
    inputs, outputs = artifacts(tmp_path, with_vectors=False)
    SicotTrainerExecutor().Do(inputs, outputs, exec_properties({contract.CODE_VERSION: "v1"}))
    (fn_args,) = SEEN
    assert fn_args.custom_config == {contract.CODE_VERSION: "v1"}
    assert contract.word_vectors_uri(fn_args.custom_config) is None


def test_an_empty_word_vectors_list_counts_as_none(tmp_path):
    inputs, outputs = artifacts(tmp_path, with_vectors=False)
    inputs["word_vectors"] = []
    SicotTrainerExecutor().Do(inputs, outputs, exec_properties({"x": 1}))
    assert SEEN[0].custom_config == {"x": 1}


def test_word_vectors_without_any_custom_config(tmp_path):
    inputs, outputs = artifacts(tmp_path, with_vectors=True)
    props = exec_properties(None)
    assert props["custom_config"] == "null"
    SicotTrainerExecutor().Do(inputs, outputs, props)
    assert SEEN[0].custom_config == {contract.WORD_VECTORS_URI: str(tmp_path / "word_vectors" / "7")}


# --- a replica of a training cluster ----------------------------------------------

QUIET_RUN_FN = f"{__name__}.quiet_run_fn"


def quiet_run_fn(fn_args):
    """What run_fn does on a replica that is not the chief: trains, writes no model."""
    SEEN.append(fn_args)


def cluster_task(monkeypatch, task_type: str, index: int = 0):
    cluster = {"chief": ["h:1"], "worker": ["h:2", "h:3"], "ps": ["h:4"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}}))


@pytest.mark.parametrize("task_type, index", [("worker", 0), ("worker", 1), ("ps", 0)])
def test_a_replica_that_is_not_the_chief_runs_run_fn_and_is_not_asked_for_a_model(tmp_path, monkeypatch,
                                                                                   task_type, index):
    cluster_task(monkeypatch, task_type, index)
    inputs, outputs = artifacts(tmp_path, with_vectors=True)
    props = {**exec_properties({contract.CODE_VERSION: "v1"}), "run_fn": QUIET_RUN_FN}
    assert SicotTrainerExecutor().Do(inputs, outputs, props) is None
    (fn_args,) = SEEN
    # The same arguments as the chief's: the word vectors' URI is handed on too.
    assert contract.word_vectors_uri(fn_args.custom_config) == str(tmp_path / "word_vectors" / "7")
    assert fn_args.train_files == [str(tmp_path / "examples" / "Split-train" / "*")]
    assert not os.path.exists(fn_args.serving_model_dir)


def test_the_chief_that_writes_no_model_fails(tmp_path, monkeypatch):
    cluster_task(monkeypatch, "chief")
    inputs, outputs = artifacts(tmp_path, with_vectors=False)
    props = {**exec_properties({contract.CODE_VERSION: "v1"}), "run_fn": QUIET_RUN_FN}
    with pytest.raises(RuntimeError, match="failed to generate model"):
        SicotTrainerExecutor().Do(inputs, outputs, props)
    assert len(SEEN) == 1
