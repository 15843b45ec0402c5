"""The paper's Fig. 7: eval titles with their words ordered by attention weight.

The co-trained model's ``title_attention`` signature gives each kept word of a title
its weight (models/export.py); the view shows a few eval titles spread over the eval
split, words highest weight first.
"""

from __future__ import annotations

from pathlib import Path

from models import features
from models.export import read_title_attention


def eval_titles(eval_examples_dir: str) -> list[tuple[str, str]]:
    """The distinct non-empty (label, title) pairs of the eval split, in file order."""
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
    return pairs


def _spread(items: list, limit: int) -> list:
    if len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def attention_examples(model_dir: str, eval_examples_dir: str, limit: int, candidates: int = 1000) -> list[dict]:
    """[{"label", "title", "words": [[word, weight], ...] highest first}]: ``limit``
    titles spread over the eval split, among those with at least two kept words (a
    title whose words were all dropped or unknown has nothing to weigh)."""
    pairs = _spread(eval_titles(eval_examples_dir), candidates)
    if not pairs:
        return []
    weighted = read_title_attention(model_dir, [title for _, title in pairs])
    items = [
        {"label": label, "title": title, "words": [[w, round(a, 4)] for w, a in words]}
        for (label, title), words in zip(pairs, weighted)
        if len(words) >= 2
    ]
    return _spread(items, limit)
