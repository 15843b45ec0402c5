"""The custom_config contract: what each component's custom_config holds."""

import json

from models import custom_config
from sicot.config import load_config


def test_a_component_gets_only_its_sections_and_reads_defaults_for_the_rest():
    config = load_config(None, ["preprocessing.image_size=32", "train.epochs=7"])
    encoded = custom_config.encode(config, "abc", sections=("preprocessing",))
    assert set(json.loads(encoded[custom_config.SICOT_CONFIG])) == {"preprocessing"}
    assert encoded[custom_config.CODE_VERSION] == "abc"
    decoded = custom_config.decode(encoded)
    assert decoded.preprocessing.image_size == 32
    assert decoded.train.epochs == load_config(None, []).train.epochs  # not Transform's to read


def test_the_trainers_custom_config_leaves_out_what_no_training_reads():
    a = custom_config.encode(load_config(None, ["compare.seeds=[1]", "eval.split=test"]), "v")
    b = custom_config.encode(load_config(None, ["compare.seeds=[2,3]", "eval.split=validation"]), "v")
    assert a == b  # the same cache key: a trained model is reused for either split
    c = custom_config.encode(load_config(None, ["train.epochs=7"]), "v")
    assert c != a


def test_a_visual_only_models_key_ignores_the_semantic_stream():
    a = custom_config.encode(load_config(None, ["model.co_training=false", "model.mixed_loss_weight=0.3"]), "v")
    b = custom_config.encode(load_config(None, ["model.co_training=false"]), "v")
    assert a == b


def test_execution_property_and_word_vectors_uri():
    config = load_config(None, ["train.epochs=5"])
    raw = json.dumps({**custom_config.encode(config, "v"), custom_config.WORD_VECTORS_URI: "/w2v/3"})
    assert custom_config.decode_execution_property(raw).train.epochs == 5
    assert custom_config.word_vectors_uri(json.loads(raw)) == "/w2v/3"
    assert custom_config.word_vectors_uri(None) is None
    assert custom_config.decode(None).train.epochs == load_config(None, []).train.epochs


def test_a_trainer_recorded_before_a_setting_existed_reads_it_back_as_then():
    # An execution of stop 48 in ML Metadata: no mixed_distillation_weight in its
    # custom_config; it trained without distillation, today's default is on.
    recorded = custom_config.encode(load_config())
    tree = json.loads(recorded[custom_config.SICOT_CONFIG])
    del tree["model"]["mixed_distillation_weight"]
    older = {**recorded, custom_config.SICOT_CONFIG: json.dumps(tree)}
    assert custom_config.decode(recorded).model.mixed_distillation_weight == 1.0
    assert custom_config.decode(older).model.mixed_distillation_weight == 0.0
    assert custom_config.decode_execution_property(json.dumps(older)).model.mixed_distillation_weight == 0.0
