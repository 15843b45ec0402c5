from tensorflow_model_analysis.proto import metrics_for_slice_pb2

from components.tfma_slice_keys import slice_key_items


def _key(**kinds):
    key = metrics_for_slice_pb2.SliceKey()
    for column, (kind, value) in kinds.items():
        single = key.single_slice_keys.add(column=column)
        setattr(single, kind, value)
    return key


def test_bytes_are_decoded_and_numbers_become_text():
    assert slice_key_items(_key(label_group=("bytes_value", "tail".encode()))) == (("label_group", "tail"),)
    assert slice_key_items(_key(bucket=("int64_value", 3))) == (("bucket", "3"),)
    assert slice_key_items(_key(score=("float_value", 0.5))) == (("score", "0.5"),)


def test_non_ascii_values_round_trip_and_the_overall_slice_is_empty():
    assert slice_key_items(_key(label=("bytes_value", "café ☕".encode("utf-8")))) == (("label", "café ☕"),)
    assert slice_key_items(metrics_for_slice_pb2.SliceKey()) == ()
