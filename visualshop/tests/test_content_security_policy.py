"""The Content-Security-Policy header (visualshop/settings/csp.py, visualshop/content_security_policy.py)
and the templates that must live with it. browser_tests/test_csp.py checks that no page breaks it."""

import re
from pathlib import Path

import pytest

from visualshop.paths import BASE_DIR

pytestmark = pytest.mark.django_db

SHOP_POLICY = (
    "base-uri 'self'; connect-src 'self'; default-src 'self'; font-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; img-src 'self' data: blob:; object-src 'none'; script-src 'self'; style-src 'self'"
)


def directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def test_a_shop_page_gets_the_strict_policy_without_a_nonce(client):
    response = client.get("/cart/")
    assert response.status_code == 200
    assert "; ".join(sorted(response["Content-Security-Policy"].split("; "))) == SHOP_POLICY


def test_the_404_page_gets_the_policy_too(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert directives(response["Content-Security-Policy"])["script-src"] == "'self'"


def test_the_admin_may_use_style_attributes_and_nothing_else_more(client):
    response = client.get("/admin/login/")
    policy = directives(response["Content-Security-Policy"])
    assert policy["style-src-attr"] == "'unsafe-inline'"
    assert (policy["script-src"], policy["style-src"], policy["frame-ancestors"]) == ("'self'", "'self'", "'none'")


def test_the_api_docs_carry_the_nonce_of_their_inline_script_and_style(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    nonce = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9+/=]{24})'", policy["script-src"]).group(1)
    assert policy["style-src"] == f"'self' 'nonce-{nonce}'"
    html = response.content.decode()
    assert html.count(f'nonce="{nonce}"') == 2
    assert len(re.findall(r"<script>|<style>", html)) == 0  # every inline block carries it
    assert "SwaggerUIBundle({" in html
    # A fresh nonce per response.
    assert f"'nonce-{nonce}'" not in client.get("/api/v1/docs/")["Content-Security-Policy"]


def test_the_shop_templates_have_no_inline_script_handler_or_style_attribute():
    """Templates and scripts the policy would break: inline <script> without src (unless
    nonced), on...= handlers, style="" attributes, javascript: URLs."""
    problems = []
    for path in sorted((BASE_DIR / "templates").rglob("*.html")) + sorted((BASE_DIR / "static").rglob("*.js")):
        text = Path(path).read_text()
        for pattern in (
            r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)[^>]*>",
            r"<style(?![^>]*\bnonce=)[^>]*>",
            r"\son[a-z]+\s*=\s*[\"']",
            r"\sstyle\s*=\s*[\"']",
            r"javascript:",
        ):
            problems += [f"{path.relative_to(BASE_DIR)}: {match.group(0)}" for match in re.finditer(pattern, text)]
    assert problems == []


def test_the_500_page_styles_itself_from_a_static_file_it_can_find_without_template_tags():
    from django.contrib.staticfiles import finders
    from django.template import loader

    html = loader.get_template("500.html").render()  # as Django's server_error view does: no request
    assert '<link rel="stylesheet" href="/static/css/error.css">' in html
    assert finders.find("css/error.css") == str(BASE_DIR / "static" / "css" / "error.css")


def test_report_only_and_the_report_address_come_from_the_environment(monkeypatch):
    import importlib

    import visualshop.settings.csp as module

    monkeypatch.setenv("CSP_REPORT_ONLY", "true")
    monkeypatch.setenv("CSP_REPORT_URI", "https://reports.example.org/csp")
    try:
        configured = importlib.reload(module)
        assert configured.CONTENT_SECURITY_POLICY is None
        directives_ = configured.CONTENT_SECURITY_POLICY_REPORT_ONLY["DIRECTIVES"]
        assert directives_["report-uri"] == ["https://reports.example.org/csp"]
        assert directives_["script-src"] == ["'self'", module.NONCE]
    finally:
        monkeypatch.undo()
        defaults = importlib.reload(module)
    assert defaults.CONTENT_SECURITY_POLICY_REPORT_ONLY is None
    assert "report-uri" not in defaults.CONTENT_SECURITY_POLICY["DIRECTIVES"]
