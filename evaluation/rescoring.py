"""Re-balancing of models already trained, by name: ``--rescore posthoc`` / ``tau_norm`` / ``ncm`` / ``crt`` / ....

Each method scores every compared model trained without a re-balancing
(``posthoc_rescoring.is_rescorable``) as the variant ``<variant>+<method>``, without
retraining: the post-hoc logit adjustment from the model's probabilities
(evaluation/posthoc_rescoring.py) and tau-normalisation by editing the loaded model's
classifier (evaluation/tau_norm_rescoring.py), each with tau chosen on the validation
split; the nearest-class-mean classifier of the training split's features, written into
the loaded model's classifier (evaluation/ncm_rescoring.py; nothing to choose), the
classifier trained again on those features with class-balanced sampling
(evaluation/crt_rescoring.py; nothing to choose), and for
co-trained models the nearest class mean of the training titles' embeddings, alone or
with the features' (evaluation/title_ncm_rescoring.py), and cRT on the visual and the
mixed features together (``crt_mixed``, evaluation/crt_rescoring.py). A
variant the comparison already trained (``baseline+tau_norm``, seed 1) is not scored
again.
"""

from __future__ import annotations

from evaluation import crt_rescoring, ncm_rescoring, posthoc_rescoring, tau_norm_rescoring, title_ncm_rescoring
from evaluation.posthoc_rescoring import is_rescorable
from evaluation.rescoring_names import CRT, CRT_MIXED, NCM, NCM_TITLE, POSTHOC, TAU_NORM, TITLE_NCM
from evaluation.run_results import ModelResult, variant_of

RESCORINGS = {POSTHOC: posthoc_rescoring.rescored, TAU_NORM: tau_norm_rescoring.rescored,
              NCM: ncm_rescoring.rescored,
              CRT: crt_rescoring.rescored,
              TITLE_NCM: lambda model, say=None: title_ncm_rescoring.rescored(model, TITLE_NCM, say),
              NCM_TITLE: lambda model, say=None: title_ncm_rescoring.rescored(model, NCM_TITLE, say),
              CRT_MIXED: crt_rescoring.rescored_mixed}
DESCRIPTIONS = {POSTHOC: "post-hoc logit adjustment (bias - tau * log prior)",
                TAU_NORM: "tau-normalisation (weights / norm ** tau, no bias)",
                NCM: "nearest class mean (cosine to each class's mean training feature)",
                CRT: "classifier re-training (cRT: trained again on the training features, classes sampled equally often)",
                TITLE_NCM: "nearest class mean of the training titles' embeddings (co-trained models)",
                NCM_TITLE: "nearest class mean of the training features and titles' embeddings together "
                           "(co-trained models)",
                CRT_MIXED: "classifier re-training on the training images' visual and mixed features, classes "
                           "sampled equally often (co-trained models)"}
# Methods that read the title stream: only co-trained models get them.
TITLE_METHODS = (TITLE_NCM, NCM_TITLE, CRT_MIXED)
# Methods with a tau, chosen per model on the validation split.
TUNED_ON_VALIDATION = (POSTHOC, TAU_NORM)


def applies(method: str, config) -> bool:
    """Whether ``method`` re-scores a model of ``config``: one without a re-balancing
    (and, for a title method, a co-trained one)."""
    return is_rescorable(config) and (method not in TITLE_METHODS or config.model.co_training)


def rescoring_methods(methods) -> tuple[str, ...]:
    """``methods`` checked and in RESCORINGS' order, each once."""
    unknown = [m for m in methods if m not in RESCORINGS]
    if unknown:
        raise ValueError(f"unknown re-scoring {', '.join(unknown)} (known: {', '.join(RESCORINGS)})")
    return tuple(m for m in RESCORINGS if m in set(methods))


def rescored_names(configs, methods) -> list[str]:
    """``<variant>+<method>`` for each model configuration the methods re-score."""
    return [f"{variant_of(config)}+{method}" for method in rescoring_methods(methods)
            for config in configs if applies(method, config)]


def with_rescoring(models: list[ModelResult], methods, say=None, scored=()) -> list[ModelResult]:
    """``models`` followed by, for each method, each not yet re-balanced model re-scored
    with it (skipped where the comparison already trained that variant for that seed, or
    where ``models`` or ``scored`` (variant, seed) pairs, those of a results archive,
    already hold that re-scoring).
    The work goes model by model, so that each evaluation model is loaded once for all
    its methods, the training features the probe reads serve ncm, crt and ncm_title
    alike (ncm_rescoring.features_through_classifier keeps the last split it read), and
    the training titles' embeddings serve title_ncm, ncm_title and crt_mixed alike
    (title_ncm_rescoring.title_embeddings, the same way)."""
    present = {(m.variant, m.seed) for m in models} | set(scored)
    chosen = rescoring_methods(methods)
    by_method: dict[str, list[ModelResult]] = {method: [] for method in chosen}
    for m in models:
        missing = [method for method in chosen
                   if applies(method, m.config) and (f"{m.variant}+{method}", m.seed) not in present]
        if m.archived:  # evaluation/results_archive.py: its metrics only, no model to re-score
            if say is not None and missing:
                say(f"{m.variant}, seed {m.seed}: from the results archive {m.archived_from}, not re-scored "
                    f"with {', '.join(missing)} (its model is not here)")
            continue
        for method in missing:
            by_method[method].append(RESCORINGS[method](m, say))
    return models + [r for method in chosen for r in by_method[method]]


def in_report_order(models: list[ModelResult]) -> list[ModelResult]:
    """The trained models in their order, then the re-scored ones method by method
    (RESCORINGS' order), each method's in the order of the models they were made from:
    the order ``with_rescoring`` gives, whether the re-scorings were made now or read
    back from a results archive."""
    trained = [m for m in models if not m.rescored_by]
    position = {(m.variant, m.seed): i for i, m in enumerate(trained)}
    methods = list(RESCORINGS)

    def key(m: ModelResult):
        made_from = (m.variant[:-len(m.rescored_by) - 1], m.seed)
        return (methods.index(m.rescored_by) if m.rescored_by in methods else len(methods),
                position.get(made_from, len(position)), m.variant, m.seed)

    return trained + sorted((m for m in models if m.rescored_by), key=key)
