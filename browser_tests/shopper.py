"""What a shopper does in the browser-test pages: choose a photo for photo search, add to the
cart, type into a form."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from catalog.models import Product

TOKEN = "[0-9a-f]{32}"  # a query photo's token, as /search/?photo=<token> shows it


def upload_photo(
    page, content: bytes, *, name: str = "photo.jpg", mime_type: str = "image/jpeg", submit: bool = True
) -> None:
    """Choose `content` in the header's photo-search input (the data-photo-search-input hook
    of templates/search/_header_search.html) without a file on disk. With submit=True the
    form is submitted as its button would (requestSubmit) and the navigation awaited; pass
    submit=False to test what a script does on "change" (preview, crop, auto-submit)."""
    page.locator("[data-photo-search-input]").first.set_input_files(
        files=[{"name": name, "mimeType": mime_type, "buffer": content}]
    )
    if submit:
        with page.expect_navigation():
            page.locator("[data-photo-search-form]").first.evaluate("form => form.requestSubmit()")


def open_dialog_with(
    page, content: bytes, *, name: str = "photo.jpg", mime_type: str = "image/jpeg", state: str = "ready"
):
    """Choose a file in the header's photo input, as the OS picker would, and wait for the
    dialog to settle in `state`. Returns the dialog."""
    page.wait_for_selector("html.photo-search-ready", state="attached")
    upload_photo(page, content, name=name, mime_type=mime_type, submit=False)
    dialog = page.locator("dialog#photo-search-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("data-state", state)
    return dialog


def add_to_cart(page, product: Product, quantity: int) -> None:
    """On the product page: type the quantity, press the button, land back on the page."""
    page.goto(product.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_have_text(product.title)
    quantity_input = page.get_by_label("Quantity")
    quantity_input.click()
    quantity_input.press("Control+A")
    page.keyboard.type(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(f"**{product.get_absolute_url()}")
    expect(page.locator(".messages")).to_contain_text(f"Added “{product.title}” to your cart.")


def type_field(page, label: str, text: str) -> None:
    """Focus a field by its label and type into it key by key, as a shopper does."""
    page.get_by_label(label, exact=True).focus()
    page.keyboard.type(text)


def staff_log_in(page) -> None:
    """A superuser made and signed in through the admin's login form; lands on the admin home."""
    get_user_model().objects.create_superuser("staff", "staff@example.org", "staff-password-1")
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("staff-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
