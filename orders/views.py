"""Cart and checkout pages. Server-rendered forms that work without JavaScript; every
POST redirects (POST-redirect-GET) so a reload never repeats it."""

from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orders import selectors, services
from orders.forms import SHIPPING_COUNTRIES, AddToCartForm, CheckoutForm, QuantityForm
from orders.models import Order
from orders.selectors import CartLineKey
from tracking import services as tracking_services
from tracking.visitors import request_identity


@require_POST
def cart_add(request):
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        if "product_id" in form.errors:
            return HttpResponseBadRequest("No product given to add to the cart.", content_type="text/plain")
        if "variant_id" in form.errors:
            return HttpResponseBadRequest("The size given is not a size id.", content_type="text/plain")
        messages.error(request, "Choose a quantity between 1 and 999.")
        return _back_to_product(form.cleaned_data["product_id"])
    product_id = form.cleaned_data["product_id"]
    try:
        change = services.cart_add(
            request.session,
            product_id=product_id,
            variant_id=form.cleaned_data["variant_id"],
            quantity=form.cleaned_data["quantity"],
            identity=request_identity(request),
        )
    except services.CartError as error:
        messages.error(request, str(error))
        return _back_to_product(product_id)
    (messages.warning if change.clipped else messages.success)(request, change.message)
    return redirect(change.product)


def _back_to_product(product_id: int):
    # The product page 404s for inactive products; the cart explains itself instead.
    url = selectors.product_url(product_id)
    return redirect(url) if url else redirect("orders:cart")


@require_GET
def cart_detail(request):
    summary = selectors.cart_summary(selectors.cart_get(request.session))
    services.cart_forget_missing(request.session, summary.missing)
    return render(request, "orders/cart.html", {"cart": summary})


@require_POST
def cart_update(request, line: CartLineKey):
    form = QuantityForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a quantity between 0 and 999.")
        return redirect("orders:cart")
    if form.cleaned_data["quantity"] == 0:
        return cart_remove(request, line)
    try:
        change = services.cart_set_quantity(
            request.session, key=line, quantity=form.cleaned_data["quantity"], identity=request_identity(request)
        )
    except services.CartError as error:
        messages.error(request, str(error))
        return redirect("orders:cart")
    (messages.warning if change.clipped else messages.success)(request, change.message)
    return redirect("orders:cart")


@require_POST
def cart_remove(request, line: CartLineKey):
    message = services.cart_remove(request.session, key=line, identity=request_identity(request))
    if message:
        messages.success(request, message)
    return redirect("orders:cart")


@require_http_methods(["GET", "POST"])
def checkout(request):
    form = CheckoutForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        # Before looking at the cart: a repeated submit (double click, second tab) finds
        # its order even once the first one has emptied the cart.
        try:
            order, created = services.cart_checkout(
                request.session,
                customer=form.customer(),
                checkout_key=request.POST.get("checkout_key", ""),
                identity=request_identity(request),
            )
        except services.CheckoutKeyError as error:
            form.add_error(None, str(error))  # shown again below, with a good key
        except services.OrderError as error:
            messages.error(request, str(error))
            return redirect("orders:cart")
        else:
            # No message for a new order: the confirmation page's heading says it.
            if not created:
                messages.info(request, "This order was already placed.")
            return redirect(order)
    summary = selectors.cart_summary(selectors.cart_get(request.session))
    if not summary.lines:
        messages.info(request, "Your cart is empty.")
        return redirect("orders:cart")
    if request.method == "GET" and summary.problems:
        # Say so before the shopper types an address, not after.
        names = ", ".join(f"{line.name} ({line.problem.lower()})" for line in summary.problems)
        messages.warning(request, f"Please update your cart first: {names}.")
        return redirect("orders:cart")
    if request.method == "GET":
        tracking_services.checkout_started_recorded(
            request_identity(request),
            lines=[
                tracking_services.LineData(line.product.pk, line.quantity, float(line.line_total))
                for line in summary.lines
            ],
            currency=summary.currency,
        )
    return render(
        request,
        "orders/checkout.html",
        {
            "cart": summary,
            "form": form,
            "checkout_key": services.checkout_key_issue(request.session),
        },
    )


@require_GET
def order_detail(request, reference: str):
    try:
        order = selectors.order_get_for_session(request.session, reference)
    except Order.DoesNotExist:
        raise Http404("No such order in this session") from None
    return render(
        request,
        "orders/order.html",
        {
            "order": order,
            "country_name": dict(SHIPPING_COUNTRIES).get(order.country, order.country),
        },
    )
