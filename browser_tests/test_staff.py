"""What staff do in the admin, in Chromium at 390 and 1280 px with screenshots: the home's
"Needs attention" panel, answering a flag, price and stock in the product list, a catalogue
import uploaded and watched."""

from __future__ import annotations

from playwright.sync_api import expect

from browser_tests.shopper import staff_log_in as log_in
from catalog.importing import runs
from catalog.models import CatalogueImport, Product, ProductImage

FEED = b"id,title,price,availability\nST-1,Linen shirt,19.90 EUR,in stock\nST-2,,5 EUR,in stock\n"


def test_staff_see_what_needs_attention_and_dismiss_a_flag(page, shop, snap):
    flagged = shop.images["M1"]
    ProductImage.objects.filter(pk=flagged.pk).update(
        status=ProductImage.Status.FLAGGED, reason="blurred (sharpness 3 < 100)", reason_codes=["blurred"]
    )
    log_in(page)
    panel = page.locator("#needs-attention")
    expect(panel).to_contain_text("1 picture flagged (shown, worth a look)")
    snap("home")
    panel.get_by_role("link", name="1 picture flagged (shown, worth a look)").click()
    page.wait_for_url("**/admin/catalog/productimage/?status__exact=flagged")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    rows.first.locator("input.action-select").check()
    page.locator("select[name=action]").select_option("dismiss_flags")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "1 flagged picture(s) dismissed: shown as ready, not flagged again for the same reasons."
    )
    snap("dismissed")
    flagged.refresh_from_db()
    assert (flagged.status, flagged.flag_review, flagged.flag_reviewed_by.username) == ("ready", "dismissed", "staff")


def test_staff_edit_price_and_stock_in_the_product_list(page, shop, snap):
    log_in(page)
    page.goto("/admin/catalog/product/?q=" + shop.products["M1"].sku)
    row = page.locator("#result_list tbody tr").first
    row.locator("input[name$='-price']").fill("24.50")
    row.locator("input[name$='-stock']").fill("3")
    snap("editing")
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    product = Product.objects.get(pk=shop.products["M1"].pk)
    assert (str(product.price), product.stock) == ("24.50", 3)


def test_staff_upload_a_catalogue_file_and_read_its_failed_rows(page, shop, snap, tmp_path):
    log_in(page)
    page.goto("/admin/catalog/catalogueimport/add/")
    feed = tmp_path / "spring.csv"
    feed.write_bytes(FEED)
    page.locator("input[type=file][name=file]").set_input_files(str(feed))
    snap("upload")
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_contain_text("Importing spring.csv in the background")
    expect(page.locator("#result_list tbody tr").first).to_contain_text("waiting for a worker")
    # No worker in browser tests: the run is done here, as a worker would.
    run = CatalogueImport.objects.get()
    assert runs.catalogue_import_run(run.pk) == "done"
    page.reload()
    expect(page.locator("#result_list tbody tr").first).to_contain_text("2 of 2 rows")
    page.locator("#result_list tbody tr").first.locator("a").first.click()
    expect(page.locator(".field-row_errors")).to_contain_text("row 3: missing title")
    snap("run")
