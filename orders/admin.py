"""Staff view of orders. Orders come from checkout only; their snapshots are history
and stay read-only. Staff change the status and can correct a delivery address."""

from django.contrib import admin

from orders.models import Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ["product", "sku", "title", "size", "unit_price", "quantity", "line_total"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["reference", "created_at", "name", "email", "country", "status", "total", "currency"]
    list_filter = ["status", "created_at", "country", "currency"]
    search_fields = ["reference", "name", "email", "lines__sku"]
    date_hierarchy = "created_at"
    readonly_fields = ["reference", "currency", "total", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["reference", "status", "created_at", "updated_at", "currency", "total"]}),
        ("Customer", {"fields": ["name", "email", "phone"]}),
        (
            "Shipping address",
            {"fields": ["address_line1", "address_line2", "postal_code", "city", "region", "country"]},
        ),
    ]
    inlines = [OrderLineInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False
