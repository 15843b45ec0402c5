"""A TFMA slice key as text: ``((column, value), ...)``.

TFMA writes each slice of its metrics as a ``SliceKey`` proto whose single keys hold
the value in one of ``bytes_value``, ``int64_value`` or ``float_value``. Everything in
sicot that reads TFMA's output (the interval blessing rule here, the evaluation
reports) names a slice by these pairs, with bytes decoded as UTF-8 and numbers as
``str``; the overall slice is the empty tuple.
"""

from __future__ import annotations


def slice_value(single_key) -> str:
    """The value of one ``SingleSliceKey`` as text."""
    value = getattr(single_key, single_key.WhichOneof("kind"))
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def slice_key_items(slice_key) -> tuple[tuple[str, str], ...]:
    """``((column, value), ...)`` of a ``SliceKey`` proto; ``()`` for the overall slice."""
    return tuple((k.column, slice_value(k)) for k in slice_key.single_slice_keys)
