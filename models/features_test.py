"""The feature names are distinct, also from the features the export adds for TFMA."""

from models import features
from models.export import LABEL_TRAIN_COUNT
from sicot import head_tail

RAW = [features.IMAGE, features.TITLE, features.LABEL, features.SKU, features.TAGS, features.EXAMPLE_ID]
TRANSFORMED = [features.IMAGE_PIXELS, features.TITLE_TOKEN_IDS, features.TITLE_LENGTH, features.LABEL_ID]


def test_raw_transformed_and_vocabulary_names_are_distinct():
    assert features.RAW_FEATURES == tuple(RAW)
    assert len(set(RAW + TRANSFORMED)) == len(RAW) + len(TRANSFORMED)
    vocabularies = [features.WORD_VOCABULARY, features.LABEL_VOCABULARY, features.LABEL_FREQUENCY_VOCABULARY]
    assert len(set(vocabularies)) == len(vocabularies)


def test_the_slicing_features_of_the_export_overwrite_no_feature():
    # transform_features (models/export.py) returns Transform's outputs plus these, and
    # TFMA slices on them next to the raw features: a clash would replace a feature.
    extras = {LABEL_TRAIN_COUNT, head_tail.LABEL_GROUP, head_tail.LABEL_FREQUENCY_BUCKET}
    assert len(extras) == 3
    assert not extras & set(RAW + TRANSFORMED)
