"""Weight decay over the whole network (``train.weight_decay_scope: kernels``).

``train.weight_decay`` is an L2 penalty added to the training loss,

    weight_decay * sum_k ||W_k||^2

over a set of weight matrices W_k (Keras' ``L2`` regularizer; its gradient 2 *
weight_decay * W is PyTorch SGD's ``weight_decay`` at twice the value). Which
matrices is ``train.weight_decay_scope``:

- ``classifier`` (the default): the shared classifier's kernel only, as every sicot
  model trained before this option was (``build_classifier``).
- ``kernels``: every trainable weight matrix or convolution kernel of the model (the
  visual backbone, its projection, the semantic stream's projections and attention,
  the classifier), the usual decay of a ResNet trained from scratch. Left out, as
  in the usual recipes: biases, BatchNorm's scale and offset, scalars such as the
  attention temperature (all of rank 1 or 0), and word-embedding tables (they start
  from pretrained vectors, which a decay would shrink towards zero for rows a batch
  never uses).

Why an option: long-tailed recognition is sensitive to weight decay (Alshammari et
al., "Long-Tailed Recognition via Weight Balancing", CVPR 2022: in their
``LTR-weight-balancing`` demo, a plain cross-entropy ResNet-32 on CIFAR-100-LT reaches
39.6 top-1 without decay and 47.2 with PyTorch weight_decay 5e-3 on every layer,
i.e. 2.5e-3 here), and a decay on the classifier alone leaves the backbone, which
carries most of the weights, unregularised. Variables that already carry a regularizer keep it
(the classifier's, so it is not counted twice); frozen variables (the trunk in
``train.freeze_backbone_epochs``) are not in ``trainable_weights`` and are not decayed
while frozen. Nothing changes at inference: the deployed model is the same graph.
"""

from __future__ import annotations

import keras

SCOPES = ("classifier", "kernels")


def decay_kernels(model: keras.Model, weight_decay: float) -> int:
    """Attaches an L2(weight_decay) regularizer to every variable of ``model`` that the
    ``kernels`` scope covers and that has none yet; returns how many it attached.

    Works on a built model (its variables must exist) and acts through
    ``variable.regularizer``, which ``Layer.losses`` reads on every call, so that
    ``model.losses`` carries the new terms and a model rebuilt from its
    configuration gets them again by calling this again.
    """
    if not model.built:
        raise ValueError("decay_kernels needs a built model (its variables must exist)")
    if weight_decay <= 0:
        return 0
    embeddings = {id(v) for layer in model._flatten_layers() if isinstance(layer, keras.layers.Embedding)
                  for v in layer.weights}
    attached = 0
    for variable in model.trainable_weights:
        if len(variable.shape) < 2 or id(variable) in embeddings or variable.regularizer is not None:
            continue
        variable.regularizer = keras.regularizers.L2(weight_decay)
        attached += 1
    return attached


def check_scope(scope: str) -> None:
    if scope not in SCOPES:
        raise ValueError(f"unknown train.weight_decay_scope '{scope}' (known: {', '.join(SCOPES)})")
