"""The method names are the keys of the re-scoring registry and of its descriptions, in
their order (cli/main_test.py checks that the command line offers exactly them)."""

from evaluation import rescoring
from evaluation.rescoring_names import RESCORING_NAMES


def test_every_named_method_has_a_method_and_a_description():
    assert tuple(rescoring.RESCORINGS) == RESCORING_NAMES and tuple(rescoring.DESCRIPTIONS) == RESCORING_NAMES
    assert len(set(RESCORING_NAMES)) == len(RESCORING_NAMES)
