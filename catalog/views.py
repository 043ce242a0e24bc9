from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render

from catalog import selectors
from catalog.models import Category, Product

PAGE_SIZE = 24


def home(request):
    return render(request, "catalog/home.html", {"featured": selectors.product_featured(12)})


def category_detail(request, slug: str):
    try:
        category = selectors.category_get(slug)
    except Category.DoesNotExist:
        raise Http404("No such category")
    page = Paginator(selectors.product_list(category=category), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/category.html",
        {"category": category, "ancestors": selectors.category_ancestors(category), "page": page},
    )


def product_detail(request, pk: int, slug: str):
    try:
        product = selectors.product_get(pk)
    except Product.DoesNotExist:
        raise Http404("No such product")
    if slug != (product.slug or "item"):
        return redirect(product, permanent=True)
    return render(request, "catalog/product.html", {"product": product})
