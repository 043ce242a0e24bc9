from django.urls import path

from tracking import views

app_name = "tracking"

urlpatterns = [
    path("t/events", views.beacon, name="beacon"),
    path("t/consent", views.consent, name="consent"),
    path("staff/analytics/search/", views.search_analytics, name="search-analytics"),
]
