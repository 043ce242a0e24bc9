from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render

from catalog import selectors
from catalog.context_processors import category_tree_for
from catalog.models import Product

PAGE_SIZE = 24
FEATURED_COUNT = 12


def home(request):
    tree = category_tree_for(request)
    selectors.category_covers(tree)
    return render(request, "catalog/home.html", {
        "categories": tree.roots,
        # The hero's call to action: the department with the widest choice.
        "hero_category": max(tree.roots, key=lambda c: (len(c.subcategories), -tree.roots.index(c)), default=None),
        "featured": selectors.product_featured(FEATURED_COUNT),
    })


def category_detail(request, slug: str):
    tree = category_tree_for(request)
    category = tree.get(slug)
    if category is None:
        raise Http404("No such category")
    ancestors = tree.ancestors(category)
    page = Paginator(selectors.product_list(category=category), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "catalog/category.html", {
        "category": category,
        "ancestors": ancestors[:-1],
        "active_category_slug": ancestors[0].slug,
        "subcategories": category.subcategories,
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1),
    })


def product_detail(request, pk: int, slug: str):
    try:
        product = selectors.product_get(pk)
    except Product.DoesNotExist:
        raise Http404("No such product")
    if slug != (product.slug or "item"):
        return redirect(product, permanent=True)
    ancestors = category_tree_for(request).ancestors(product.category) if product.category_id else []
    return render(request, "catalog/product.html", {
        "product": product,
        "ancestors": ancestors,
        "active_category_slug": ancestors[0].slug if ancestors else "",
        "images": product.visible_images,
    })
