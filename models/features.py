"""Names of the raw features (in the TFRecords) and of the transformed features."""

# Raw tf.Example features written by `sicot ingest`.
IMAGE = "image"  # encoded image bytes (PNG, JPEG, GIF or BMP)
TITLE = "title"  # UTF-8 title, may be empty
LABEL = "label"  # class id string
SKU = "sku"  # product id string
TAGS = "tags"  # list of strings
EXAMPLE_ID = "example_id"  # "<manifest>:<line>", to trace a row back to its source

RAW_FEATURES = (IMAGE, TITLE, LABEL, SKU, TAGS, EXAMPLE_ID)

# Transformed features, the output of preprocessing_fn.
IMAGE_PIXELS = "image_pixels"  # float32 [S, S, 3] in [-1, 1]
TITLE_TOKEN_IDS = "title_token_ids"  # int64 [max_title_tokens], 0 = padding
TITLE_LENGTH = "title_length"  # int64, number of non-padding tokens
LABEL_ID = "label_id"  # int64, index into the label vocabulary

# Vocabulary files written by Transform.
WORD_VOCABULARY = "words"
LABEL_VOCABULARY = "labels"
LABEL_FREQUENCY_VOCABULARY = "label_frequency"  # lines "count label", training split
