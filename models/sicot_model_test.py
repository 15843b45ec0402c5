import keras
import numpy as np
import pytest
import tensorflow as tf

from models import features
from models.sicot_model import build_sicot_model
from models.title_encoders import ENCODERS
from sicot.config import load_config

NUM_CLASSES, VOCAB, SIZE, TOKENS = 5, 12, 16, 6


def _config(*overrides):
    """A tiny model with the paper's SICoT (the mixed loss trains the backbone, no title
    word prediction, no stream alignment, no mixed-stream distillation) unless the
    overrides say otherwise."""
    return load_config(
        None,
        ["model.mixed_loss_trains_backbone=true", "model.title_word_prediction_weight=0.0", "model.stream_alignment_weight=0.0",
         "model.mixed_distillation_weight=0.0",
         "model.backbone=tiny_cnn", "model.feature_dim=8", f"preprocessing.image_size={SIZE}",
         f"preprocessing.max_title_tokens={TOKENS}", "model.attention_rank=4", "model.dropout=0.0", "train.weight_decay=0.0", *overrides],
    )


def _batch(empty_titles=False):
    rng = np.random.default_rng(0)
    pixels = rng.uniform(-1, 1, (4, SIZE, SIZE, 3)).astype("float32")
    ids = rng.integers(1, VOCAB, (4, TOKENS)).astype("int64")
    ids[:, 4:] = 0
    if empty_titles:
        ids[:] = 0
    return {features.IMAGE_PIXELS: pixels, features.TITLE_TOKEN_IDS: ids}, np.array([0, 1, 2, 3])


@pytest.mark.parametrize("encoder", ENCODERS)
def test_gradients_reach_backbone_and_word_embeddings_through_the_shared_classifier(encoder):
    model = build_sicot_model(_config(f"model.title_encoder={encoder}"), NUM_CLASSES, VOCAB)
    x, y = _batch()
    with tf.GradientTape() as tape:
        total, visual, mixed, _, _ = model._stream_losses(x, tf.constant(y), training=True)
    grads = dict(zip([v.path for v in model.trainable_variables],
                     tape.gradient(total, model.trainable_variables)))
    embedding = [g for p, g in grads.items() if "word_embedding" in p]
    backbone = [g for p, g in grads.items() if "conv" in p]
    classifier = [g for p, g in grads.items() if p.startswith("classifier")]
    assert embedding and np.abs(tf.convert_to_tensor(embedding[0]).numpy()).sum() > 0
    assert backbone and all(np.abs(g.numpy()).sum() > 0 for g in backbone)
    assert len(classifier) == 2  # one kernel and one bias: a single classifier serves both streams
    assert float(mixed) > 0 and float(total) == pytest.approx(float(visual) + float(mixed), rel=1e-5)


def test_examples_without_title_train_the_visual_stream_only():
    model = build_sicot_model(_config(), NUM_CLASSES, VOCAB)
    x, y = _batch(empty_titles=True)
    with tf.GradientTape() as tape:
        total, visual, mixed, _, _ = model._stream_losses(x, tf.constant(y), training=True)
    assert float(mixed) == 0.0 and float(total) == pytest.approx(float(visual))
    grads = tape.gradient(total, model.semantic.trainable_variables)
    assert all(g is None or np.abs(tf.convert_to_tensor(g).numpy()).sum() == 0 for g in grads)


def test_lambda_weighs_the_mixed_term():
    x, y = _batch()
    keras.utils.set_random_seed(1)
    m1 = build_sicot_model(_config("model.mixed_loss_weight=1.0"), NUM_CLASSES, VOCAB)
    keras.utils.set_random_seed(1)
    m3 = build_sicot_model(_config("model.mixed_loss_weight=3.0"), NUM_CLASSES, VOCAB)
    t1, v1, x1, _, _ = m1._stream_losses(x, tf.constant(y), training=False)
    t3, v3, x3, _, _ = m3._stream_losses(x, tf.constant(y), training=False)
    assert float(x1) == pytest.approx(float(x3), rel=1e-5)
    assert float(t3) == pytest.approx(float(v3) + 3 * float(x3), rel=1e-5)


def test_baseline_switch_drops_the_semantic_stream_and_nothing_else():
    cotrain = build_sicot_model(_config(), NUM_CLASSES, VOCAB)
    baseline = build_sicot_model(_config("model.co_training=false"), NUM_CLASSES, VOCAB)
    assert baseline.semantic is None and cotrain.semantic is not None
    x, y = _batch()
    _, visual, mixed, _, _ = baseline._stream_losses(x, tf.constant(y), training=False)
    assert float(mixed) == 0.0
    assert baseline.inference_model().count_params() == cotrain.inference_model().count_params()


def test_training_improves_and_the_deployed_model_takes_the_image_alone(tmp_path):
    keras.utils.set_random_seed(0)
    model = build_sicot_model(_config(), NUM_CLASSES, VOCAB)
    model.compile(optimizer=keras.optimizers.Adam(0.01), metrics=[keras.metrics.SparseCategoricalAccuracy(name="top1")])
    x, y = _batch()
    history = model.fit(tf.data.Dataset.from_tensors((x, y)).repeat(30), epochs=1, verbose=0)
    assert {"loss", "visual_loss", "mixed_loss", "top1"} <= set(history.history)
    inference = model.inference_model()
    assert [i.name for i in inference.inputs] == [features.IMAGE_PIXELS]
    before = inference(x[features.IMAGE_PIXELS]).numpy()
    np.testing.assert_allclose(before, model(x[features.IMAGE_PIXELS]).numpy(), rtol=1e-5)
    path = tmp_path / "inference.keras"
    inference.save(path)
    after = keras.models.load_model(path)(x[features.IMAGE_PIXELS]).numpy()
    np.testing.assert_allclose(before, after, rtol=1e-5, atol=1e-6)


def test_unknown_encoder_is_refused():
    with pytest.raises(ValueError, match="unknown title encoder 'gru'"):
        build_sicot_model(_config("model.title_encoder=gru"), NUM_CLASSES, VOCAB)


def test_word_embeddings_start_from_the_given_vectors():
    vectors = np.random.default_rng(3).normal(size=(VOCAB, 7)).astype("float32")
    model = build_sicot_model(_config(), NUM_CLASSES, VOCAB, word_vectors=vectors)
    table = model.semantic.get_layer("word_embedding").embeddings.numpy()
    np.testing.assert_array_equal(table, vectors)
    # Vectors of another size are projected to D.
    assert model.semantic.get_layer("word_projection").kernel.shape == (7, 8)


def _sharded_and_dense_twins(*overrides, shared=(), class_counts=None):
    """A sharded model and a Dense one with the same weights (the Dense kernel = the shards side by side)."""
    keras.utils.set_random_seed(4)
    sharded = build_sicot_model(_config("model.classifier_shards=2", *shared, *overrides), NUM_CLASSES, VOCAB,
                                class_counts=class_counts)
    keras.utils.set_random_seed(4)
    dense = build_sicot_model(_config(*shared), NUM_CLASSES, VOCAB, class_counts=class_counts)
    x, _ = _batch()
    sharded(x[features.IMAGE_PIXELS]), dense(x[features.IMAGE_PIXELS])
    dense.visual.set_weights(sharded.visual.get_weights())
    dense.semantic.set_weights(sharded.semantic.get_weights())
    dense.classifier.kernel.assign(tf.concat([k.value for k in sharded.classifier.kernels], axis=1))
    dense.classifier.bias.assign(tf.concat([b.value for b in sharded.classifier.biases], axis=0))
    return sharded, dense


def test_sharded_classifier_gives_the_dense_losses_and_serves_both_heads():
    from models.sharded_classifier import ShardedClassifier

    sharded, dense = _sharded_and_dense_twins()
    assert isinstance(sharded.classifier, ShardedClassifier) and sharded.classifier.num_shards == 2
    x, y = _batch()
    with tf.GradientTape() as tape:
        total, visual, mixed, top_ids, _ = sharded._stream_losses(x, tf.constant(y), training=True)
    t, v, m, logits, _ = dense._stream_losses(x, tf.constant(y), training=True)
    for a, b in ((total, t), (visual, v), (mixed, m)):
        assert float(a) == pytest.approx(float(b), rel=1e-5)
    np.testing.assert_array_equal(top_ids.numpy(), tf.math.top_k(logits, 3).indices.numpy())
    # The mixed term alone reaches every shard: both heads use the same shards.
    with tf.GradientTape() as mixed_tape:
        _, _, mixed, _, _ = sharded._stream_losses(x, tf.constant(y), training=True)
    grads = mixed_tape.gradient(mixed, sharded.classifier.kernels)
    assert all(np.abs(g.numpy()).sum() > 0 for g in grads)
    np.testing.assert_allclose(
        sharded.inference_model()(x[features.IMAGE_PIXELS]).numpy(),
        dense.inference_model()(x[features.IMAGE_PIXELS]).numpy(), rtol=1e-5,
    )


def test_logit_adjusted_loss_offsets_every_loss_term_alike_on_dense_and_sharded_classifiers():
    counts = np.array([40, 20, 5, 2, 1])
    sharded, dense = _sharded_and_dense_twins(shared=("long_tail.loss=logit_adjusted", "long_tail.loss_tau=0.5"),
                                              class_counts=counts)
    x, y = _batch()
    losses = [m._stream_losses(x, tf.constant(y), training=True)[:3] for m in (sharded, dense)]
    for a, b in zip(*losses):
        assert float(a) == pytest.approx(float(b), rel=1e-5)
    logits = dense(x[features.IMAGE_PIXELS]).numpy()  # predictions: the raw logits
    adjusted = logits + 0.5 * np.log(counts / counts.sum())
    expected = tf.keras.losses.sparse_categorical_crossentropy(y, adjusted, from_logits=True).numpy().mean()
    assert float(losses[1][1]) == pytest.approx(float(expected), rel=1e-5)
    assert float(losses[1][1]) != pytest.approx(
        float(tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True).numpy().mean()), rel=1e-3)
    with pytest.raises(ValueError, match="needs the training class counts"):
        build_sicot_model(_config("long_tail.loss=balanced_softmax"), NUM_CLASSES, VOCAB)


@pytest.mark.parametrize("margin_type", ["cosface", "arcface"])
def test_cosine_classifier_trains_both_heads_alike_sharded_or_not(margin_type):
    from models.cosine_classifier import CosineClassifier

    shared = ("model.classifier=cosine", f"model.cosine_margin_type={margin_type}", "model.cosine_margin=0.3")
    sharded, dense = _sharded_and_dense_twins(shared=shared)
    assert isinstance(dense.classifier, CosineClassifier) and sharded.classifier.normalized
    x, y = _batch()
    with tf.GradientTape() as tape:
        losses = sharded._stream_losses(x, tf.constant(y), training=True)
    for a, b in zip(losses[:3], dense._stream_losses(x, tf.constant(y), training=True)[:3]):
        assert float(a) == pytest.approx(float(b), rel=1e-5)
    assert all(np.isfinite(g.numpy()).all() for g in tape.gradient(losses[0], sharded.classifier.kernels))
    # The margin is a training-only penalty: evaluation sees s * cos.
    training = float(dense._stream_losses(x, tf.constant(y), training=True)[1])
    evaluation = float(dense._stream_losses(x, tf.constant(y), training=False)[1])
    assert training > evaluation


def test_stream_alignment_adds_mu_times_the_titled_images_cosine_gap():
    from models.stream_alignment import alignment_loss

    keras.utils.set_random_seed(2)
    model = build_sicot_model(_config("model.stream_alignment_weight=0.5"), NUM_CLASSES, VOCAB)
    x, y = _batch()
    x[features.TITLE_TOKEN_IDS][1] = 0  # an image without a title: no alignment term
    total, visual, mixed, _, _ = model._stream_losses(x, tf.constant(y), training=False)
    x_v = model.visual_features(x[features.IMAGE_PIXELS])
    s, _ = model.semantic(x[features.TITLE_TOKEN_IDS])
    gaps = alignment_loss(x_v, s).numpy()
    expected = (gaps.sum() - gaps[1]) / 4
    assert float(total) == pytest.approx(float(visual) + float(mixed) + 0.5 * expected, rel=1e-5)
    assert expected > 0 and "alignment_loss" in [m.name for m in model.metrics]
    # fit with validation: the training step's alignment never leaks into the test step.
    model.compile(optimizer=keras.optimizers.SGD(0.01), metrics=model.accuracy_metrics())
    data = tf.data.Dataset.from_tensors((x, tf.constant(y))).repeat(2)
    history = model.fit(data, validation_data=data, epochs=1, verbose=0)
    assert history.history["alignment_loss"][0] > 0


def test_mixed_stream_distillation_adds_kappa_times_the_titled_images_kl_to_the_mixed_head():
    from models.mixed_stream_distillation import distillation_loss

    keras.utils.set_random_seed(5)
    model = build_sicot_model(_config("model.mixed_distillation_weight=0.5", "model.mixed_distillation_temperature=3.0"),
                              NUM_CLASSES, VOCAB)
    x, y = _batch()
    x[features.TITLE_TOKEN_IDS][2] = 0  # an image without a title: no teacher, no term
    total, visual, mixed, _, _ = model._stream_losses(x, tf.constant(y), training=False)
    x_v, _, x_m, _, _ = model.stream_features(x[features.IMAGE_PIXELS], x[features.TITLE_TOKEN_IDS])
    gaps = distillation_loss(model.classifier(x_v), model.classifier(x_m), 3.0).numpy()
    expected = (gaps.sum() - gaps[2]) / 4
    assert expected > 0
    assert float(total) == pytest.approx(float(visual) + float(mixed) + 0.5 * expected, rel=1e-5)
    # The teacher is fixed: the term reaches the visual side (backbone, classifier), never
    # the semantic stream, which learns from the mixed CE alone.
    with tf.GradientTape() as tape:
        x_v, _, x_m, _, _ = model.stream_features(x[features.IMAGE_PIXELS], x[features.TITLE_TOKEN_IDS], True)
        term = tf.reduce_sum(distillation_loss(model.classifier(x_v), model.classifier(x_m), 3.0))
    semantic_grads = tape.gradient(term, model.semantic.trainable_variables)
    assert all(g is None for g in semantic_grads)
    # Off by default and in a visual-only model.
    assert build_sicot_model(_config(), NUM_CLASSES, VOCAB).distillation_tracker is None
    assert build_sicot_model(_config("model.co_training=false", "model.mixed_distillation_weight=1.0"),
                             NUM_CLASSES, VOCAB).distillation_tracker is None


def test_mixed_stream_distillation_of_a_sharded_classifier_is_that_of_its_whole_rows():
    from models.mixed_stream_distillation import distillation_loss

    keras.utils.set_random_seed(6)
    model = build_sicot_model(_config("model.mixed_distillation_weight=2.0", "model.classifier_shards=2"),
                              NUM_CLASSES, VOCAB)
    x, y = _batch()
    total, visual, mixed, _, _ = model._stream_losses(x, tf.constant(y), training=False)
    x_v, _, x_m, _, _ = model.stream_features(x[features.IMAGE_PIXELS], x[features.TITLE_TOKEN_IDS])
    whole = [tf.concat(model.classifier.shard_logits(f), axis=1) for f in (x_v, x_m)]
    assert whole[0].shape[1] == NUM_CLASSES
    expected = float(tf.reduce_mean(distillation_loss(whole[0], whole[1], 2.0)))
    assert expected > 0
    assert float(total) == pytest.approx(float(visual) + float(mixed) + 2.0 * expected, rel=1e-5)
    # It trains: one step with partial FC over the sampled classes.
    sampled = build_sicot_model(_config("model.mixed_distillation_weight=1.0", "model.partial_fc_ratio=0.5"),
                                NUM_CLASSES, VOCAB)
    sampled.compile(optimizer=keras.optimizers.SGD(0.01), metrics=sampled.accuracy_metrics())
    history = sampled.fit(tf.data.Dataset.from_tensors((x, tf.constant(y))), epochs=1, verbose=0)
    assert history.history["distillation_loss"][0] > 0


def test_title_word_dropout_drops_words_in_training_only():
    model = build_sicot_model(_config("model.title_word_dropout=0.5"), NUM_CLASSES, VOCAB)
    x, _ = _batch()
    ids = x[features.TITLE_TOKEN_IDS]
    seen = []
    for _ in range(20):
        _, s, _, has_title, _ = model.stream_features(x[features.IMAGE_PIXELS], ids, training=True)
        seen.append(s.numpy())
    assert len({a.tobytes() for a in seen}) > 1  # different words kept from step to step
    full, _ = model.semantic(ids)
    np.testing.assert_allclose(model.stream_features(x[features.IMAGE_PIXELS], ids)[1], full, rtol=1e-6)


def test_title_word_prediction_adds_a_multi_label_loss_on_the_visual_feature():
    from models.title_word_prediction import word_prediction_loss, word_targets

    keras.utils.set_random_seed(3)
    model = build_sicot_model(_config("model.title_word_prediction_weight=2.0"), NUM_CLASSES, VOCAB)
    x, y = _batch()
    total, visual, mixed, _, _ = model._stream_losses(x, tf.constant(y), training=False)
    ids = x[features.TITLE_TOKEN_IDS]
    logits = model.word_predictor(model.visual_features(x[features.IMAGE_PIXELS]))
    expected = float(tf.reduce_mean(word_prediction_loss(logits, ids)))
    assert float(total) == pytest.approx(float(visual) + float(mixed) + 2.0 * expected, rel=1e-5)
    targets = word_targets(tf.constant(ids), VOCAB).numpy()
    assert targets[0, 0] == 0 and set(np.flatnonzero(targets[0])) == set(ids[0][ids[0] > 0].tolist())
    # Training only: the deployed model has no word head.
    assert not [w for w in model.inference_model().weights if "word_logits" in w.path]


def test_title_word_prediction_with_negatives_samples_in_training_and_is_exact_in_evaluation():
    from models.title_word_prediction import word_prediction_loss

    keras.utils.set_random_seed(3)
    model = build_sicot_model(_config("model.title_word_prediction_weight=1.0",
                                      "model.title_word_prediction_negatives=3"), NUM_CLASSES, VOCAB)
    x, y = _batch()
    x[features.TITLE_TOKEN_IDS][:, 1:] = 0  # 4 title words at most: most of the 11 words are drawn
    exact = float(tf.reduce_mean(word_prediction_loss(
        model.word_predictor(model.visual_features(x[features.IMAGE_PIXELS])), x[features.TITLE_TOKEN_IDS])))
    model._stream_losses(x, tf.constant(y), training=False)
    assert float(model._last_word_loss) == pytest.approx(exact, rel=1e-5)
    sampled = set()
    for _ in range(5):
        model._stream_losses(x, tf.constant(y), training=True)
        sampled.add(round(float(model._last_word_loss), 6))
    assert len(sampled) > 1 and round(exact, 6) not in sampled
    model.compile(optimizer=keras.optimizers.SGD(0.01), metrics=model.accuracy_metrics())
    history = model.fit(tf.data.Dataset.from_tensors((x, tf.constant(y))).repeat(2), epochs=1, verbose=0)
    assert np.isfinite(history.history["word_loss"][-1])
    assert model.word_predictor.word_rows  # the row layout, whose gradient is the rows read
    assert not [w for w in model.inference_model().weights if "word_" in w.path]  # training only
    # N >= V - 1 draws: the exact loss, always.
    whole = build_sicot_model(_config("model.title_word_prediction_weight=1.0",
                                      f"model.title_word_prediction_negatives={VOCAB}"), NUM_CLASSES, VOCAB)
    assert whole.word_prediction_negatives == 0


@pytest.mark.parametrize("row_sparse", [False, True])
def test_row_sparse_updates_leave_the_words_a_step_does_not_read(row_sparse):
    from models.row_gather_embedding import RowGatherEmbedding
    from training.learning_rate_schedule import make_optimizer

    config = _config(f"train.row_sparse_updates={str(row_sparse).lower()}", "train.learning_rate=0.5")
    model = build_sicot_model(config, NUM_CLASSES, VOCAB)
    table = next(v for v in model.trainable_variables if "word_embedding" in v.path)
    assert isinstance(model.semantic.get_layer("word_embedding"), RowGatherEmbedding) == row_sparse
    model.compile(optimizer=make_optimizer(config, 10), metrics=model.accuracy_metrics())
    x, y = _batch()
    first, second = np.zeros_like(x[features.TITLE_TOKEN_IDS]), np.zeros_like(x[features.TITLE_TOKEN_IDS])
    first[:, :2], second[:, :2] = [1, 2], [3, 4]  # step 1 reads words 1 and 2, step 2 words 3 and 4
    start = table.numpy().copy()
    model.fit(tf.data.Dataset.from_tensors(({**x, features.TITLE_TOKEN_IDS: first}, tf.constant(y))), verbose=0)
    after_first = table.numpy().copy()
    model.fit(tf.data.Dataset.from_tensors(({**x, features.TITLE_TOKEN_IDS: second}, tf.constant(y))), verbose=0)
    after_second = table.numpy()
    assert not np.allclose(after_first[1:3], start[1:3]) and not np.allclose(after_second[3:5], after_first[3:5])
    np.testing.assert_array_equal(after_second[5:], start[5:])  # never read
    # Words 1 and 2 at step 2: Keras' SGD moves them on by their momentum, the row-sparse update leaves them.
    assert np.array_equal(after_second[1:3], after_first[1:3]) == row_sparse


def test_mixed_loss_warmup_ramps_lambda_linearly():
    model = build_sicot_model(_config("model.mixed_loss_weight=0.8"), NUM_CLASSES, VOCAB, steps_per_epoch=10)
    assert float(model.mixed_weight()) == pytest.approx(0.8)
    model = build_sicot_model(_config("model.mixed_loss_weight=0.8", "model.mixed_loss_warmup_epochs=2"),
                              NUM_CLASSES, VOCAB, steps_per_epoch=10)
    model.compile(optimizer=keras.optimizers.SGD(0.0), metrics=model.accuracy_metrics())
    model.optimizer.build(model.trainable_variables)
    for step, expected in ((0, 0.0), (5, 0.2), (20, 0.8), (40, 0.8)):
        model.optimizer.iterations.assign(step)
        assert float(model.mixed_weight()) == pytest.approx(expected)


@pytest.mark.parametrize("shards", [1, 2])
def test_class_balanced_mixed_term_weighs_each_example_by_its_class(shards):
    counts = np.array([40, 10, 3, 1, 6])
    x, y = _batch()
    losses = {}
    for beta in (0.0, 1.0):
        keras.utils.set_random_seed(3)
        model = build_sicot_model(_config(f"model.mixed_loss_class_balance={beta}", f"model.classifier_shards={shards}"),
                                  NUM_CLASSES, VOCAB, class_counts=counts)
        losses[beta] = [float(v) for v in model._stream_losses(x, tf.constant(y), training=True)[:3]]
    _, _, x_m, _, _ = model.stream_features(x[features.IMAGE_PIXELS], x[features.TITLE_TOKEN_IDS], training=True)
    if shards == 1:
        per_example = model.ce(y, model.classifier(x_m)).numpy()
    else:
        per_example = model.ce(y, tf.concat(model.classifier.shard_logits(x_m), axis=-1)).numpy()
    weights = counts.sum() / (len(counts) * counts)  # beta 1: n_y^-1, mean 1 over the images
    assert losses[1.0][1] == pytest.approx(losses[0.0][1], rel=1e-6)  # the visual term is untouched
    assert losses[0.0][2] == pytest.approx(per_example.mean(), rel=1e-5)
    assert losses[1.0][2] == pytest.approx((weights[y] * per_example).mean(), rel=1e-5)
    assert losses[1.0][2] > 2 * losses[0.0][2]  # the rare classes of this batch weigh more


def test_class_balanced_mixed_term_needs_the_class_counts():
    with pytest.raises(ValueError, match="class counts"):
        build_sicot_model(_config("model.mixed_loss_class_balance=0.5"), NUM_CLASSES, VOCAB)


def test_partial_fc_trains_on_a_sample_and_evaluates_on_all_classes():
    keras.utils.set_random_seed(5)
    model = build_sicot_model(_config("model.partial_fc_ratio=0.2"), 40, VOCAB)
    x, _ = _batch()
    y = tf.constant([0, 1, 2, 3])
    full_visual = float(model._stream_losses(x, y, training=False)[1])
    corrected = float(model._stream_losses(x, y, training=True)[1])
    model.partial_fc_correction = False
    uncorrected = float(model._stream_losses(x, y, training=True)[1])
    model.partial_fc_correction = True
    # A softmax over 8 of 40 classes; the logQ correction makes it estimate the full one.
    assert uncorrected < full_visual
    assert abs(corrected - full_visual) < abs(uncorrected - full_visual)
    model.compile(optimizer=keras.optimizers.SGD(0.1), metrics=model.accuracy_metrics())
    history = model.fit(tf.data.Dataset.from_tensors((x, y)).repeat(4), epochs=1, verbose=0)
    assert {"loss", "top1", "top3"} <= set(history.history)
    logs = model.evaluate(tf.data.Dataset.from_tensors((x, y)), return_dict=True, verbose=0)
    full_ce = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x[features.IMAGE_PIXELS]))
    )
    assert logs["visual_loss"] == pytest.approx(float(full_ce), rel=1e-5)


def test_partial_fc_without_sharding_still_uses_the_sharded_layer():
    model = build_sicot_model(_config("model.partial_fc_ratio=0.5"), NUM_CLASSES, VOCAB)
    assert model.sharded and model.classifier.num_shards == 1
    assert not build_sicot_model(_config(), NUM_CLASSES, VOCAB).sharded


def test_partial_fc_logq_correction_follows_the_classifier_unless_set():
    dense = build_sicot_model(_config("model.partial_fc_ratio=0.5"), NUM_CLASSES, VOCAB)
    cosine = build_sicot_model(_config("model.partial_fc_ratio=0.5", "model.classifier=cosine"), NUM_CLASSES, VOCAB)
    forced = build_sicot_model(_config("model.partial_fc_ratio=0.5", "model.classifier=cosine",
                                       "model.partial_fc_correction=true"), NUM_CLASSES, VOCAB)
    assert (dense.partial_fc_correction, cosine.partial_fc_correction, forced.partial_fc_correction) == (True, False, True)


def test_validation_logs_hold_the_image_terms_only():
    # The title terms are training terms: evaluation sees the image alone, and a
    # val_mixed_loss of 0 would read as a perfect mixed head.
    keras.utils.set_random_seed(4)
    model = build_sicot_model(_config("model.stream_alignment_weight=1.0", "model.title_word_prediction_weight=1.0",
                                      "model.mixed_distillation_weight=1.0"),
                              NUM_CLASSES, VOCAB)
    model.compile(optimizer=keras.optimizers.Adam(0.01), metrics=[keras.metrics.SparseCategoricalAccuracy(name="top1")])
    x, y = _batch()
    data = tf.data.Dataset.from_tensors((x, y))
    history = model.fit(data.repeat(3), validation_data=data, epochs=2, verbose=0)
    title_terms = {"mixed_loss", "semantic_share", "alignment_loss", "word_loss", "distillation_loss"}
    assert {t.name for t in model.title_trackers()} == title_terms
    assert title_terms <= set(history.history)  # trained on, and logged
    assert {"val_loss", "val_visual_loss", "val_top1"} <= set(history.history)
    assert not {f"val_{name}" for name in title_terms} & set(history.history)
    assert history.history["val_loss"][-1] == pytest.approx(history.history["val_visual_loss"][-1])
    logs = model.evaluate(data, return_dict=True, verbose=0)
    assert not title_terms & set(logs) and logs["loss"] > 0
    baseline = build_sicot_model(_config("model.co_training=false"), NUM_CLASSES, VOCAB)
    assert baseline.title_trackers() == []
