import threading

import pytest

from search import overlap


def test_both_results_come_back_and_compute_runs_in_another_thread():
    here = threading.get_ident()

    vector, words = overlap.while_computing(lambda: threading.get_ident(), lambda: "words")

    assert words == "words"
    assert vector != here


def test_background_false_runs_both_here():
    here = threading.get_ident()

    assert overlap.while_computing(threading.get_ident, threading.get_ident, background=False) == (here, here)


def test_the_compute_error_is_raised_even_when_the_other_part_succeeded():
    def rejected():
        raise ValueError("undecodable")

    with pytest.raises(ValueError, match="undecodable"):
        overlap.while_computing(rejected, lambda: "words")


def test_the_compute_error_wins_over_the_other_parts_error():
    def rejected():
        raise ValueError("undecodable")

    def words_failed():
        raise KeyError("text backend")

    with pytest.raises(ValueError, match="undecodable"):
        overlap.while_computing(rejected, words_failed)


def test_the_other_parts_error_is_raised_when_compute_succeeded():
    def words_failed():
        raise KeyError("text backend")

    with pytest.raises(KeyError, match="text backend"):
        overlap.while_computing(lambda: 1, words_failed)
