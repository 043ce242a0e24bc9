import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import services
from catalog.image_files import InvalidImage
from catalog.models import Brand, Category, Product, ProductImage
from catalog.services import ProductData, VariantData
from fixtures.factories import with_sizes
from fixtures.images import image_bytes
from visualshop.broker import holdings, sending

pytestmark = pytest.mark.django_db


def make_product(sku="SKU-1", **overrides) -> Product:
    data = {"sku": sku, "title": "Linen shirt", "price": Decimal("49.00"), **overrides}
    return services.product_upsert(ProductData(**data))[0]


def test_category_path_builds_a_tree_once():
    leaf = services.category_get_or_create_path(["Apparel", "Dresses"])
    again = services.category_get_or_create_path(["apparel", " Dresses "])
    assert leaf == again
    assert (leaf.name, leaf.slug, leaf.parent.name, leaf.parent.slug) == ("Dresses", "dresses", "Apparel", "apparel")
    assert Category.objects.count() == 2


def test_same_leaf_name_under_two_parents_gets_distinct_slugs():
    women = services.category_get_or_create_path(["Women", "Shoes"])
    men = services.category_get_or_create_path(["Men", "Shoes"])
    assert women != men
    assert (women.slug, men.slug) == ("shoes", "men-shoes")


def test_empty_category_path_is_none():
    assert services.category_get_or_create_path(["", "  "]) is None


def test_brand_is_case_insensitive_and_blank_is_none():
    assert services.brand_get_or_create("Acme") == services.brand_get_or_create("ACME ")
    assert services.brand_get_or_create("") is None
    assert Brand.objects.count() == 1


def test_product_upsert_updates_by_sku():
    product, created = services.product_upsert(ProductData(sku="A1", title="Red dress", price=Decimal("20.00")))
    same, created_again = services.product_upsert(
        ProductData(sku="A1", title="Crimson dress", price=Decimal("25.50"), stock=3, attributes={"colour": "red"})
    )
    assert (created, created_again) == (True, False)
    same.refresh_from_db()
    assert (same.pk, same.title, same.slug, same.price, same.stock, same.attributes) == (
        product.pk,
        "Crimson dress",
        "crimson-dress",
        Decimal("25.50"),
        3,
        {"colour": "red"},
    )
    assert Product.objects.count() == 1


def test_image_add_records_metadata_and_dedupes(django_capture_on_commit_callbacks):
    product = make_product()
    content = image_bytes((320, 240), format="JPEG")
    with django_capture_on_commit_callbacks() as callbacks:
        image, created = services.product_image_add(product=product, content=content, source="feed.csv", position=0)
        again, created_again = services.product_image_add(product=product, content=content, source="x", position=2)
    assert (created, created_again) == (True, False)
    assert again.pk == image.pk
    again.refresh_from_db()
    assert (again.width, again.height, again.format, again.status, again.position, again.source) == (
        320,
        240,
        "JPEG",
        ProductImage.Status.PENDING,
        2,
        "x",
    )
    assert len(again.sha256) == 64
    assert again.file.name.endswith(".jpg")
    assert len(callbacks) == 1  # queued once, for the one new image


def test_image_add_rejects_non_images():
    product = make_product()
    with pytest.raises(InvalidImage, match="^not an image"):
        services.product_image_add(product=product, content=b"<html>nope</html>")
    with pytest.raises(InvalidImage, match="^empty file$"):
        services.product_image_add(product=product, content=b"")
    assert ProductImage.objects.count() == 0


def test_replace_file_resets_status_and_refuses_a_duplicate():
    product = make_product()
    first, _ = services.product_image_add(product=product, content=image_bytes(colour=(1, 2, 3)))
    second, _ = services.product_image_add(product=product, content=image_bytes(colour=(9, 9, 9)))
    ProductImage.objects.filter(pk=first.pk).update(status=ProductImage.Status.READY, attempts=1)
    first.refresh_from_db()
    replaced = services.product_image_replace_file(first, content=image_bytes((640, 480), colour=(50, 60, 70)))
    replaced.refresh_from_db()
    assert (replaced.status, replaced.width, replaced.height, replaced.processed_at) == (
        ProductImage.Status.PENDING,
        640,
        480,
        None,
    )
    with pytest.raises(InvalidImage, match=f"already image {second.pk} of this product"):
        services.product_image_replace_file(first, content=image_bytes(colour=(9, 9, 9)))


def test_reprocess_marks_pending_and_queues(django_capture_on_commit_callbacks):
    product = make_product()
    image, _ = services.product_image_add(product=product, content=image_bytes())
    ProductImage.objects.filter(pk=image.pk).update(
        status=ProductImage.Status.FLAGGED,
        reason="blurred",
        reason_codes=["blurred"],
        attempts=3,
        processed_at=timezone.now(),
    )
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.product_images_reprocess([image.pk]) == 1
    image.refresh_from_db()
    assert (image.status, image.reason, image.reason_codes, image.attempts, image.processed_at) == (
        ProductImage.Status.PENDING,
        "",
        [],
        0,
        None,
    )
    assert len(callbacks) == 1


def test_sweep_requeues_stale_unfinished_and_retryable_failed_images(
    django_capture_on_commit_callbacks, settings, monkeypatch, broker_back_off_reset
):
    settings.IMAGE_STALE_AFTER_SECONDS = 60
    settings.IMAGE_MAX_ATTEMPTS = 3
    Status = ProductImage.Status
    product = make_product()
    images = {
        name: services.product_image_add(product=product, content=image_bytes(colour=(n, n, n)))[0]
        for n, name in enumerate(
            ["stale_pending", "fresh_pending", "stale_processing", "done", "failed_retry", "failed_spent", "hopeless"]
        )
    }
    states = {
        "stale_processing": (Status.PROCESSING, 1),
        "done": (Status.READY, 1),
        "failed_retry": (Status.FAILED, 2),
        "failed_spent": (Status.FAILED, 3),
        "hopeless": (Status.PROCESSING, 3),
    }
    for name, (status, attempts) in states.items():
        ProductImage.objects.filter(pk=images[name].pk).update(status=status, attempts=attempts)
    long_ago = timezone.now() - timedelta(minutes=5)
    ProductImage.objects.exclude(pk=images["fresh_pending"].pk).update(updated_at=long_ago)
    sent = []
    monkeypatch.setattr("visualshop.celery.app.send_task", lambda name, args: sent.append((name, args)))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.images_sweep_stale() == 3
    expected = sorted(images[name].pk for name in ["stale_pending", "stale_processing", "failed_retry"])
    assert sent == [("vision.tasks.process_product_images", [expected])]
    hopeless = ProductImage.objects.get(pk=images["hopeless"].pk)
    assert (hopeless.status, hopeless.reason_codes, hopeless.reason) == (
        Status.FAILED,
        ["error"],
        "gave up after 3 attempts (the worker died or timed out each time)",
    )
    assert ProductImage.objects.get(pk=images["stale_pending"].pk).updated_at > long_ago  # not picked again at once


def test_unreachable_broker_leaves_images_pending_and_stops_trying_for_a_while(
    monkeypatch, broker_back_off_reset, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    attempts = []

    def broker_down(name, args):
        attempts.append(args[0][0])
        raise OperationalError("Error 2 connecting to /nowhere.sock")

    monkeypatch.setattr("visualshop.celery.app.send_task", broker_down)
    product = make_product()
    with django_capture_on_commit_callbacks(execute=True):
        first, _ = services.product_image_add(product=product, content=image_bytes(colour=(1, 1, 1)))
        second, _ = services.product_image_add(product=product, content=image_bytes(colour=(2, 2, 2)))
    assert attempts == [first.pk]  # the second send was not even tried
    assert set(ProductImage.objects.values_list("status", flat=True)) == {ProductImage.Status.PENDING}
    sending.back_off_reset()  # time has passed
    with django_capture_on_commit_callbacks(execute=True):
        services.product_images_reprocess([second.pk])
    assert attempts == [first.pk, second.pk]


def test_images_committed_inside_a_bulk_block_are_sent_in_batches(
    monkeypatch, settings, broker_back_off_reset, django_capture_on_commit_callbacks
):
    settings.IMAGE_PROCESSING_BATCH = 2
    sent = []
    monkeypatch.setattr("visualshop.celery.app.send_task", lambda name, args: sent.append(args[0]))
    product = make_product()
    ids = []
    with sending.messages_batched():
        for n in range(5):
            with django_capture_on_commit_callbacks(execute=True):  # one committed row at a time
                ids.append(services.product_image_add(product=product, content=image_bytes(colour=(n, 0, 0)))[0].pk)
            if n == 1:
                assert sent == [ids[:2]]  # a full batch goes at once
    assert sent == [ids[:2], ids[2:4], ids[4:]]  # the rest when the block ends
    with django_capture_on_commit_callbacks(execute=True):  # outside the block: one message per commit
        ids.append(services.product_image_add(product=product, content=image_bytes(colour=(9, 0, 0)))[0].pk)
    assert sent[-1] == [ids[-1]]


def test_a_category_covers_the_products_filed_or_predicted_in_its_subtree():
    leaf = services.category_get_or_create_path(["Apparel", "Dresses"])
    other = services.category_get_or_create_path(["Garden"])
    filed = make_product("FILED", category=leaf)
    predicted = make_product("PREDICTED")
    outside = make_product("OUTSIDE", category=other)
    Product.objects.filter(pk=predicted.pk).update(predicted_category=leaf)
    Product.objects.update(search_dirty=False)
    assert services.category_products_mark_search_dirty(leaf.parent) == sorted([filed.pk, predicted.pk])
    assert set(Product.objects.filter(search_dirty=True).values_list("pk", flat=True)) == {filed.pk, predicted.pk}
    assert services.category_product_ids(other) == [outside.pk]


@pytest.mark.slow
def test_lost_processing_is_requeued_and_what_the_broker_holds_is_not(
    redis_socket, settings, broker_back_off_reset, django_capture_on_commit_callbacks
):
    """Against the real (test) Redis: an image whose message the broker lost is queued again,
    a message delivered to a worker that is gone goes back to the queue, and an image still
    in the queue, in a recent delivery or just added is left alone (never queued twice)."""
    import redis

    from visualshop.celery import app

    settings.IMAGE_LOST_AFTER_SECONDS = 60
    settings.BROKER_ORPHAN_AFTER_SECONDS = 60
    redis.Redis(unix_socket_path=str(redis_socket)).flushdb()
    product = make_product()
    with django_capture_on_commit_callbacks(execute=False):  # nothing sent: the test sends by hand
        queued, lost, fresh, orphaned, delivered = (
            services.product_image_add(product=product, content=image_bytes(colour=(n, 0, 0)))[0].pk for n in range(5)
        )
    task = settings.IMAGE_PROCESSING_TASK
    # A consumer that takes two messages and never acknowledges them; its connection stays
    # open (closing it would hand them back, as a worker's warm shutdown does).
    with app.connection_for_write() as consumer:
        channel = consumer.default_channel
        for ids in ([orphaned], [delivered]):
            app.send_task(task, args=[ids])
            assert channel.basic_get(queue="celery", no_ack=False) is not None
        # The orphan's worker took it two minutes ago and is gone.
        [orphan_tag] = [
            tag for tag, raw in channel.client.hgetall(channel.unacked_key).items() if b"[[%d]" % orphaned in raw
        ]
        channel.client.zadd(channel.unacked_index_key, {orphan_tag: time.time() - 120})
        app.send_task(task, args=[[queued]])
        long_ago = timezone.now() - timedelta(minutes=5)
        ProductImage.objects.exclude(pk=fresh).update(updated_at=long_ago)
        ProductImage.objects.filter(pk=orphaned).update(status=ProductImage.Status.PROCESSING)  # claimed, then killed

        with django_capture_on_commit_callbacks(execute=True):
            assert services.images_requeue_lost() == 2  # the orphan's image and the lost one

        held = holdings.read_holdings(task)
        assert sorted(held.queued) == sorted([queued, orphaned, lost])
        assert [delivery.ids for delivery in held.deliveries] == [[delivered]]
        assert ProductImage.objects.get(pk=lost).updated_at > long_ago  # not sent again by the next sweep
        with django_capture_on_commit_callbacks(execute=True):
            assert services.images_requeue_lost() == 0  # the next sweep finds nothing lost
        assert sorted(holdings.read_holdings(task).queued) == sorted([queued, orphaned, lost])


# -- sizes ------------------------------------------------------------------------------------


def sized(sku: str = "D1", **stock_by_size: int) -> Product:
    product, _ = services.product_upsert(ProductData(sku=sku, title="Marta dress", price=Decimal("59.00"), stock=40))
    with_sizes(product, **stock_by_size)
    return product


def test_sizes_are_upserted_by_sku_and_the_product_stock_is_their_sum():
    product = sized(S=2, M=3)
    assert Product.objects.get(pk=product.pk).stock == product.stock == 5
    created = services.product_variants_upsert(
        product, [VariantData(sku="D1-M", size="M", stock=0, position=1), VariantData(sku="D1-L", size="L", stock=4)]
    )
    assert created == 1
    assert list(product.variants.values_list("sku", "size", "stock")) == [
        ("D1-S", "S", 2),
        ("D1-L", "L", 4),
        ("D1-M", "M", 0),
    ]
    assert Product.objects.get(pk=product.pk).stock == 6


def test_a_size_sku_of_another_product_or_a_size_twice_is_refused_and_nothing_written():
    sized("OTHER", S=1)
    product = sized(S=2)
    with pytest.raises(services.VariantError, match=r"^size SKU 'OTHER-S' already belongs to another product"):
        services.product_variants_upsert(product, [VariantData(sku="OTHER-S", size="M", stock=1)])
    with pytest.raises(services.VariantError, match=r"^the product already has size 'S' as SKU 'D1-S'$"):
        services.product_variants_upsert(product, [VariantData(sku="D1-S2", size="S", stock=1)])
    assert list(product.variants.values_list("sku", "stock")) == [("D1-S", 2)]


def test_a_product_sold_by_size_keeps_the_sum_whatever_stock_an_upsert_gives():
    product = sized(S=2, M=3)
    updated, _ = services.product_upsert(ProductData(sku="D1", title="Marta dress", price=Decimal("59.00"), stock=99))
    assert (updated.stock, Product.objects.get(pk=product.pk).stock) == (5, 5)


def test_the_sum_going_to_or_from_zero_marks_the_product_for_search(monkeypatch, django_capture_on_commit_callbacks):
    product = sized(S=1, M=0)
    Product.objects.update(search_dirty=False)
    queued = []
    monkeypatch.setattr("catalog.services._search_refresh.queue", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        services.product_variants_upsert(product, [VariantData(sku="D1-M", size="M", stock=4, position=1)])
    # 1 -> 5: still in stock, nothing search reads changed.
    assert (queued, Product.objects.get(pk=product.pk).search_dirty) == ([], False)
    with django_capture_on_commit_callbacks(execute=True):
        services.product_variants_upsert(
            product,
            [VariantData(sku="D1-S", size="S", stock=0), VariantData(sku="D1-M", size="M", stock=0, position=1)],
        )
    assert queued == [[product.pk]]
    assert Product.objects.values_list("stock", "search_dirty").get(pk=product.pk) == (0, True)
