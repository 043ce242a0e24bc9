"""The page a locked-out staff login gets (django-axes, configured in
visualshop/settings/admin_login.py)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.template.response import TemplateResponse

LOCKOUT_TEMPLATE = "admin/login_locked_out.html"


def lockout_message() -> str:
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return (
        "Too many failed login attempts for this username from your address. "
        f"Logging in is locked for {minutes} {unit} after the last failed attempt; "
        "try again later or ask an administrator to unlock it."
    )


def lockout_response(request, original_response=None, credentials=None) -> TemplateResponse:
    """The admin login page again, with the lockout message above an empty form, status 429.
    (axes calls this instead of the view's own answer, which would only say "wrong password".)"""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    context = {
        **admin.site.each_context(request),
        "title": "Log in",
        "subtitle": None,
        "app_path": request.get_full_path(),
        "form": AdminAuthenticationForm(request, initial={"username": username}),
        "lockout_message": lockout_message(),
        REDIRECT_FIELD_NAME: request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME) or "",
    }
    response = TemplateResponse(request, LOCKOUT_TEMPLATE, context, status=settings.AXES_HTTP_RESPONSE_CODE)
    # Middleware above axes (CSP among them) sees a rendered page, as for any other view.
    return response.render()
