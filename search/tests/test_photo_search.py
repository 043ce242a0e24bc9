"""The shopper's photo as a vector: the query vector cache (search.photo_search.embed_photo)."""

import numpy as np
import pytest
from django.core.cache import cache

from fixtures.images import scene_bytes
from search import photo_search
from search.photo_search import CropBox, embed_photo
from vision import services as vision_services
from vision.decoding import ImageRejected

pytestmark = pytest.mark.django_db


@pytest.fixture
def model():
    return vision_services.embedding_model_ensure_active()


@pytest.fixture
def embeddings(monkeypatch):
    """Counts the pictures really embedded."""
    calls = []
    real = photo_search.embed_picture

    def counting(model, picture, *, threads):
        calls.append(picture.size)
        return real(model, picture, threads=threads)

    monkeypatch.setattr(photo_search, "embed_picture", counting)
    return calls


def test_the_same_photo_and_crop_is_embedded_once_and_gives_the_same_vector(model, embeddings):
    first = embed_photo(model, scene_bytes(3))
    again = embed_photo(model, scene_bytes(3))
    assert len(embeddings) == 1
    assert np.array_equal(first.astype(np.float32), again) and again.dtype == np.float32
    cropped = embed_photo(model, scene_bytes(3), CropBox(0, 0, 160, 200))
    other = embed_photo(model, scene_bytes(4))
    assert len(embeddings) == 3  # another crop, another photo: each embedded
    assert not np.allclose(cropped, first) and not np.allclose(other, first)


def test_a_rejected_photo_is_not_kept_and_is_rejected_again(model, embeddings):
    for _ in range(2):
        with pytest.raises(ImageRejected):
            embed_photo(model, b"not a picture")
    assert embeddings == []


def test_a_cache_that_does_not_answer_costs_an_embedding_not_the_search(model, embeddings, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache is down")

    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(cache, "set", down)
    assert embed_photo(model, scene_bytes(3)).shape == (model.dimension,)
    assert embed_photo(model, scene_bytes(3)).shape == (model.dimension,)
    assert len(embeddings) == 2


def test_no_cache_when_its_time_is_zero(model, embeddings, settings):
    settings.SEARCH_QUERY_VECTOR_CACHE_SECONDS = 0
    embed_photo(model, scene_bytes(3))
    embed_photo(model, scene_bytes(3))
    assert len(embeddings) == 2
