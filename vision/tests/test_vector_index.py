import numpy as np

from vision.vector_index import halfvec_from_send, halfvec_literal, halfvecs_from_send


def send(values) -> bytes:
    """pgvector's halfvec_send: int16 dimension, int16 unused, big-endian float16s."""
    return len(values).to_bytes(2, "big") + b"\x00\x00" + np.array(values, dtype=">f2").tobytes()


def test_many_vectors_are_read_back_exactly_in_one_conversion():
    rows = [send([0.5, -2.0, 1.0]), memoryview(send([0.25, 0.0, -0.125]))]

    matrix = halfvecs_from_send(rows)

    assert matrix.dtype == np.float32 and matrix.tolist() == [[0.5, -2.0, 1.0], [0.25, 0.0, -0.125]]
    assert [halfvec_from_send(row).tolist() for row in rows] == matrix.tolist()
    assert halfvecs_from_send([]).shape == (0, 0)


def test_the_text_form_has_six_significant_digits():
    assert halfvec_literal(np.array([0.1, -1234567.0, 3.0], dtype=np.float32)) == "[0.1,-1.23457e+06,3]"
