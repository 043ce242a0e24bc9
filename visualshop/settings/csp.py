"""Content-Security-Policy on every page (django-csp 4, visualshop/content_security_policy.py).

The shop's pages run only scripts and styles from /static/: no inline script, no inline
event handler, no style attribute. A nonce (a fresh random value per response, added to the
header only when a template uses request.csp_nonce) allows the few inline <style>/<script>
blocks that must carry per-page values: the photo's size on the search page and the API
docs' Swagger UI start-up. Photos are same-origin; the photo widget previews the chosen file
as a blob: URL, and Django admin and Swagger UI draw icons from data: URLs.

The Django admin, and only it, may also use style="" attributes (style-src-attr
'unsafe-inline'): Django's admin widgets and our catalogue admin's thumbnails and coloured
status notes set them. A style attribute can neither run script nor load from another origin
under this policy.
"""

from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

from visualshop.env import env_bool, env_str

_DIRECTIVES = {
    "default-src": [SELF],
    "script-src": [SELF, NONCE],
    "style-src": [SELF, NONCE],
    "img-src": [SELF, "data:", "blob:"],
    "font-src": [SELF],
    "connect-src": [SELF],
    "form-action": [SELF],
    "frame-ancestors": [NONE],
    "base-uri": [SELF],
    "object-src": [NONE],
}
# Browsers POST a JSON report of each violation here (e.g. a collector of your own); unset:
# no reports, the browser console still shows them.
_REPORT_URI = env_str("CSP_REPORT_URI", "")
if _REPORT_URI:
    _DIRECTIVES["report-uri"] = [_REPORT_URI]

# CSP_REPORT_ONLY=true sends the same policy as Content-Security-Policy-Report-Only: nothing
# is blocked, violations are only reported (to try a changed policy on a live shop first).
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY = None
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": _DIRECTIVES}
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": _DIRECTIVES}
    CONTENT_SECURITY_POLICY_REPORT_ONLY = None

# Paths whose pages may also use style="" attributes (see above).
CSP_STYLE_ATTRIBUTE_PATH_PREFIXES = ["/admin/"]
CSP_STYLE_ATTRIBUTE_UPDATE = {"style-src-attr": [UNSAFE_INLINE]}
