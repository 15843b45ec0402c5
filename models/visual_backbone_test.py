import numpy as np
import pytest

from models.visual_backbone import backbone_trunk, build_backbone


@pytest.mark.parametrize("name, size", [("tiny_cnn", 16), ("small_resnet", 16), ("resnet50", 32)])
def test_backbones_give_a_non_negative_feature_of_size_d(name, size):
    model = build_backbone(name, size, feature_dim=12)
    out = model.predict(np.random.default_rng(0).uniform(-1, 1, (2, size, size, 3)).astype("float32"), verbose=0)
    assert out.shape == (2, 12)
    assert (out >= 0).all()  # ReLU projection: same space as the semantic embedding


def test_unknown_backbone_is_named_in_the_error():
    with pytest.raises(ValueError, match="unknown backbone 'vgg'.*tiny_cnn"):
        build_backbone("vgg", 16, 8)


def _conv_kernels(model):
    return [w.numpy() for w in model.weights if "kernel" in w.path and "conv" in w.path]


def test_pretrained_trunk_weights_load_from_a_local_file(tmp_path):
    import keras

    from models.visual_backbone import _tiny_cnn

    inputs = keras.Input((16, 16, 3))
    donor = keras.Model(inputs, _tiny_cnn(inputs), name="tiny_cnn_trunk")
    for w in donor.weights:
        w.assign(np.full(w.shape, 0.5, dtype="float32"))
    path = tmp_path / "trunk.weights.h5"
    donor.save_weights(path)

    loaded = _conv_kernels(build_backbone("tiny_cnn", 16, 8, weights=str(path)))
    fresh = _conv_kernels(build_backbone("tiny_cnn", 16, 8))
    assert len(loaded) == 2 and all(np.allclose(k, 0.5) for k in loaded)
    assert not any(np.allclose(k, 0.5) for k in fresh)


@pytest.mark.parametrize("name", ["tiny_cnn", "small_resnet"])
def test_backbone_trunk_is_every_layer_but_the_projection(name):
    backbone = build_backbone(name, 16, 8)
    trunk = backbone_trunk(backbone)
    assert trunk.name == f"{name}_trunk"
    projection = backbone.get_layer("visual_projection")
    trunk_ids = {id(w) for w in trunk.weights}
    assert trunk_ids and not trunk_ids & {id(w) for w in projection.weights}
    assert len(trunk.weights) + len(projection.weights) == len(backbone.weights)
