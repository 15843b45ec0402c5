import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from models import features
from models.export import (
    CLASSIFY_METHOD,
    CLASSIFY_SIGNATURE,
    LabelFrequencySlices,
    ServingModule,
    hold_keras_object,
    set_method_names,
)
from sicot import head_tail
from sicot.config import load_config
from tests.tiny_serving import LABELS, SIZE, VocabularyOnly, png


def _model():
    keras.utils.set_random_seed(0)
    pixels = keras.Input((SIZE, SIZE, 3))
    logits = keras.layers.Dense(len(LABELS))(keras.layers.GlobalAveragePooling2D()(pixels))
    return keras.Model(pixels, logits)


def _serving(top_k=2):
    config = load_config(None, [f"preprocessing.image_size={SIZE}", f"serving.top_k={top_k}"])
    return ServingModule(_model(), VocabularyOnly(), config)


def test_label_frequency_slices_follow_the_python_definition():
    counts = np.array([0, 1, 5, 6, 20, 21, 199, 200, 5000], np.int64)
    bounds = [5, 20, 100]
    out = LabelFrequencySlices(200, bounds)(tf.constant(counts))
    np.testing.assert_array_equal(out[head_tail.LABEL_GROUP].numpy().astype(str), head_tail.group_of(counts, 200))
    np.testing.assert_array_equal(out[head_tail.LABEL_FREQUENCY_BUCKET].numpy().astype(str),
                                  head_tail.bucket_of(counts, bounds))


def test_recognize_returns_the_best_labels_first_with_their_softmax_scores():
    serving = _serving(top_k=2)
    images = [png((255, 0, 0)), png((10, 200, 30))]
    out = serving.recognize(tf.constant(images))
    probabilities = serving.predict_examples(tf.constant([
        tf.train.Example(features=tf.train.Features(feature={
            features.IMAGE: tf.train.Feature(bytes_list=tf.train.BytesList(value=[image]))})).SerializeToString()
        for image in images]))["probabilities"].numpy()
    best = np.argsort(-probabilities, axis=1)[:, :2]
    np.testing.assert_array_equal(out["class_ids"].numpy(), best)
    np.testing.assert_allclose(out["scores"].numpy(), np.take_along_axis(probabilities, best, 1), rtol=1e-6)
    assert out["labels"].numpy().astype(str).tolist() == [[LABELS[i] for i in row] for row in best]


def test_top_k_is_clipped_to_the_number_of_labels_and_classify_agrees():
    serving = _serving(top_k=10)
    image = png((0, 0, 255))
    recognized = serving.recognize(tf.constant([image]))
    example = tf.train.Example(features=tf.train.Features(feature={
        features.IMAGE: tf.train.Feature(bytes_list=tf.train.BytesList(value=[image]))})).SerializeToString()
    classified = serving.classify(tf.constant([example]))
    assert recognized["labels"].shape == (1, len(LABELS))
    np.testing.assert_array_equal(classified["classes"].numpy(), recognized["labels"].numpy())
    np.testing.assert_allclose(classified["scores"].numpy(), recognized["scores"].numpy(), rtol=1e-6)


def test_the_serving_model_takes_images_only_and_routes_classify(tmp_path):
    serving = _serving()
    tf.saved_model.save(serving, str(tmp_path), signatures=serving.signatures())
    set_method_names(str(tmp_path), {CLASSIFY_SIGNATURE: CLASSIFY_METHOD})
    proto = saved_model_pb2.SavedModel.FromString((tmp_path / "saved_model.pb").read_bytes())
    signatures = proto.meta_graphs[0].signature_def
    assert set(signatures) >= {"serving_default", "predict_examples", CLASSIFY_SIGNATURE}
    assert "title_attention" not in signatures and "transform_features" not in signatures
    assert list(signatures["serving_default"].inputs) == ["images"]
    assert signatures[CLASSIFY_SIGNATURE].method_name == CLASSIFY_METHOD
    assert signatures["serving_default"].method_name == "tensorflow/serving/predict"
    loaded = tf.saved_model.load(str(tmp_path)).signatures["serving_default"]
    np.testing.assert_array_equal(loaded(images=tf.constant([png((1, 2, 3))]))["labels"].numpy(),
                                  serving.recognize(tf.constant([png((1, 2, 3))]))["labels"].numpy())


def test_a_held_keras_model_exports_each_variable_once_as_a_tf_variable():
    model = _model()
    module = tf.Module()
    hold_keras_object(module, "model", model)
    hold_keras_object(module, "same_model_again", model)
    assert len(module.exported_variables) == len(model.weights) == 2
    assert all(isinstance(v, tf.Variable) for v in module.exported_variables)
    assert "model" not in [name for name, _ in module._trackable_children().items()]


@pytest.mark.parametrize("bad_bounds", [[], [0, 5], [5, 5]])
def test_bad_bucket_bounds_are_refused(bad_bounds):
    with pytest.raises(ValueError, match="increasing positive integers"):
        LabelFrequencySlices(200, bad_bounds)
