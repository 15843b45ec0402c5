"""The paper's Fig. 7: eval titles with their words ordered by attention weight.

The co-trained model's ``title_attention`` signature gives each kept word of a title
its weight (models/export.py); the view shows a few eval titles spread over the eval
split, words highest weight first.
"""

from __future__ import annotations

from pathlib import Path

from models import features


def eval_titles(eval_examples_dir: str, limit: int) -> list[tuple[str, str]]:
    """Up to ``limit`` distinct non-empty (label, title) pairs, spread over the split."""
    import tensorflow as tf

    files = sorted(str(p) for p in Path(eval_examples_dir).glob("*"))
    spec = {features.TITLE: tf.io.FixedLenFeature([], tf.string, default_value=""),
            features.LABEL: tf.io.FixedLenFeature([], tf.string, default_value="")}
    pairs, seen = [], set()
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator():
        parsed = tf.io.parse_single_example(record, spec)
        title = parsed[features.TITLE].numpy().decode("utf-8", "replace").strip()
        if title and title not in seen:
            seen.add(title)
            pairs.append((parsed[features.LABEL].numpy().decode("utf-8", "replace"), title))
    if len(pairs) <= limit:
        return pairs
    step = len(pairs) / limit
    return [pairs[int(i * step)] for i in range(limit)]


def attention_examples(model_dir: str, eval_examples_dir: str, limit: int) -> list[dict]:
    """[{"label", "title", "words": [[word, weight], ...] highest first}]."""
    from models.export import read_title_attention

    pairs = eval_titles(eval_examples_dir, limit)
    if not pairs:
        return []
    weighted = read_title_attention(model_dir, [title for _, title in pairs])
    return [
        {"label": label, "title": title, "words": [[w, round(a, 4)] for w, a in words]}
        for (label, title), words in zip(pairs, weighted)
    ]
