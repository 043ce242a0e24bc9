"""Products: a filtered list, one product with its pictures, and its visually similar products."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from api import schema, selectors
from api.serializers import (
    ProductDetailSerializer,
    ProductListParamsSerializer,
    ProductPageSerializer,
    SimilarParamsSerializer,
    SimilarProductsSerializer,
)
from catalog import product_filters
from catalog.models import Product

PRODUCT_ID = OpenApiParameter(
    "product_id",
    {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    OpenApiParameter.PATH,
    description="The product's id.",
)


def _product_not_found(product_id: int) -> NotFound:
    return NotFound(f"No product with id {product_id}.")


def _valid_id(product_id: int) -> bool:
    return 0 < product_id < 2**63  # a bigint: larger ids cannot exist, and Postgres would refuse them


class ProductListView(APIView):
    @extend_schema(
        operation_id="products_list",
        summary="List products",
        description="Active products in title order, filtered, a page at a time.",
        parameters=[ProductListParamsSerializer],
        responses={200: ProductPageSerializer, 400: schema.INVALID},
        tags=["products"],
    )
    def get(self, request):
        params = ProductListParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        products = product_filters.product_list(product_filters.from_fields(data))
        limit, offset = data["limit"], data["offset"]
        count = products.count()
        url = request.build_absolute_uri()
        page = {
            "count": count,
            "limit": limit,
            "offset": offset,
            "next": replace_query_param(url, "offset", offset + limit) if offset + limit < count else None,
            "previous": None
            if offset == 0
            else (
                remove_query_param(url, "offset")
                if offset <= limit
                else replace_query_param(url, "offset", offset - limit)
            ),
            "results": list(products[offset : offset + limit]) if offset < count else [],
        }
        return Response(ProductPageSerializer(page, context={"request": request}).data)


class ProductDetailView(APIView):
    @extend_schema(
        operation_id="products_retrieve",
        summary="One product",
        description="An active product with its pictures (inactive products are not found).",
        parameters=[PRODUCT_ID],
        responses={200: ProductDetailSerializer, 404: schema.NOT_FOUND},
        tags=["products"],
    )
    def get(self, request, product_id: int):
        if not _valid_id(product_id):
            raise _product_not_found(product_id)
        try:
            product = selectors.product_get(product_id)
        except Product.DoesNotExist:
            raise _product_not_found(product_id) from None
        return Response(ProductDetailSerializer(product, context={"request": request}).data)


class SimilarProductsView(APIView):
    @extend_schema(
        operation_id="products_similar",
        summary="Visually similar products",
        description="Products that look like this one, most similar first (precomputed; refreshed when "
        "pictures change).",
        parameters=[PRODUCT_ID, SimilarParamsSerializer],
        responses={200: SimilarProductsSerializer, 400: schema.INVALID, 404: schema.NOT_FOUND},
        tags=["products"],
    )
    def get(self, request, product_id: int):
        params = SimilarParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        if not _valid_id(product_id):
            raise _product_not_found(product_id)
        try:
            rows = selectors.similar_products(product_id, limit=params.validated_data["limit"])
        except Product.DoesNotExist:
            raise _product_not_found(product_id) from None
        image_ids = {row.product.pk: row.image_id for row in rows}
        data = SimilarProductsSerializer({"results": rows}, context={"request": request, "image_ids": image_ids}).data
        return Response(data)
