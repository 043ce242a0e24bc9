"""Photo + a colour word: the served check's sample and the fusion methods' lists."""

import numpy as np

from search.evaluation.hybrid import check_sample, method_lists, method_names
from search.reranking import Rescored
from search.text import TextHit
from vision.knn import Candidate


def test_the_served_check_sample_is_spread_over_all_pairs():
    assert check_sample(3, 20) == [0, 1, 2]
    assert check_sample(0, 20) == []
    assert check_sample(100, 5) == [0, 25, 50, 74, 99]
    assert len(check_sample(3068, 20)) == 20


def test_every_method_fuses_the_same_two_lists_and_served_is_what_search_products_serves(settings):
    settings.SEARCH_HYBRID_METHOD, settings.SEARCH_HYBRID_TEXT_WEIGHT, settings.SEARCH_RRF_K = "score", 3.0, 60

    def visual(*ranked):
        return [Rescored(Candidate(pid * 10, pid, None, score, np.zeros(2)), score, 0.0) for pid, score in ranked]

    photo = visual((1, 0.9), (2, 0.8), (3, 0.7), (4, 0.1))
    words = [TextHit(pid, 1.0, ("red",)) for pid in (3, 4, 5)]  # a one-word query: equal scores, by id
    lists = method_lists(photo, words, words=1, served=[4, 3])
    assert list(lists) == method_names() == ["photo only", "text only", "rrf k=60", "score w=3", "served"]
    assert lists["photo only"] == [1, 2, 3, 4]
    assert lists["text only"] == [3, 4, 5]
    # 3 and 4 are on both lists; 5 only on the words' (as like the photo as its least similar candidate).
    assert lists["rrf k=60"] == [3, 4, 1, 2, 5]
    assert lists["score w=3"] == [3, 4, 5, 1, 2]
    assert lists["served"] == [4, 3]  # what search_products serves, passed through
