"""The Content-Security-Policy middleware: django-csp's, plus style="" attributes allowed on
the paths in settings.CSP_STYLE_ATTRIBUTE_PATH_PREFIXES (the Django admin; why: the settings
module visualshop/settings/csp.py)."""

from __future__ import annotations

from dataclasses import replace

from csp.middleware import CSPMiddleware
from django.conf import settings


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False):
        # django-csp 4's documented extension point: the parts the header is built from.
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if parts.update is None and request.path_info.startswith(tuple(settings.CSP_STYLE_ATTRIBUTE_PATH_PREFIXES)):
            parts = replace(parts, update=settings.CSP_STYLE_ATTRIBUTE_UPDATE)
        return parts
