"""tracking.visitors: the pseudonymous visitor cookie and the privacy switches, through the
real middleware stack (the test client), on a page that needs no catalogue."""

import uuid

import pytest
from django.test import RequestFactory

from tracking.visitors import CONSENT_COOKIE, VISITOR_COOKIE, cookie_visitor_id

pytestmark = pytest.mark.django_db

PAGE = "/cart/"


def visitor_in(response) -> uuid.UUID:
    """The visitor id the response's cookie carries, read back as the shop reads it."""
    morsel = response.cookies[VISITOR_COOKIE]
    assert (morsel["httponly"], morsel["samesite"], morsel["max-age"]) == (True, "Lax", 395 * 86400)
    visitor = cookie_visitor_id(RequestFactory().get(PAGE, HTTP_COOKIE=f"{VISITOR_COOKIE}={morsel.value}"))
    assert visitor is not None
    return visitor


def test_a_new_visitor_gets_a_signed_random_id_once_and_keeps_it(client):
    first = client.get(PAGE)
    visitor = visitor_in(first)
    assert first.wsgi_request.visitor_id == visitor
    again = client.get(PAGE)
    assert VISITOR_COOKIE not in again.cookies  # not set again
    assert again.wsgi_request.visitor_id == visitor


def test_a_forged_or_tampered_cookie_is_replaced_by_a_new_id(client):
    forged = uuid.uuid4()
    client.cookies[VISITOR_COOKIE] = str(forged)  # unsigned
    response = client.get(PAGE)
    assert response.wsgi_request.visitor_id == visitor_in(response) != forged


@pytest.mark.parametrize("header", [{"HTTP_DNT": "1"}, {"HTTP_SEC_GPC": "1"}])
def test_do_not_track_and_global_privacy_control_get_no_id_and_lose_one_they_had(client, header):
    response = client.get(PAGE, **header)
    assert response.wsgi_request.visitor_id is None and VISITOR_COOKIE not in response.cookies
    visitor_in(client.get(PAGE))  # without the header: an id
    response = client.get(PAGE, **header)
    assert response.wsgi_request.visitor_id is None
    assert response.cookies[VISITOR_COOKIE].value == ""  # deleted
    assert response.cookies[VISITOR_COOKIE]["max-age"] == 0


def test_when_consent_is_required_only_a_yes_gets_an_id(client, settings):
    settings.TRACKING_CONSENT_REQUIRED = True
    assert client.get(PAGE).wsgi_request.visitor_id is None
    client.cookies[CONSENT_COOKIE] = "no"
    assert client.get(PAGE).wsgi_request.visitor_id is None
    client.cookies[CONSENT_COOKIE] = "yes"
    response = client.get(PAGE)
    assert response.wsgi_request.visitor_id == visitor_in(response)
