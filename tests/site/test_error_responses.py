"""Domain errors become the same answers everywhere: status, page or toast, Retry-After."""

import json

import pytest
from django.contrib.messages.storage.fallback import FallbackStorage
from django.http import HttpResponse
from django.test import RequestFactory
from django_htmx.middleware import HtmxDetails

from orgs.roles import Role
from prism_site.error_responses import DomainErrorMiddleware, error_response, error_status
from prism_site.errors import Conflict, DomainError, Invalid, NotFound, RateLimited, Refused
from tests.factories import add_member, make_organization

pytestmark = pytest.mark.django_db


def _request(*, htmx: bool = False):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    request = RequestFactory().post("/somewhere", **headers)
    request.htmx = HtmxDetails(request)
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("gone"), 404),
        (Refused("no", capability="manage_keys"), 403),
        (Conflict("changed meanwhile"), 409),
        (Invalid(errors={"budgets.period": ["must be one of daily, weekly"]}), 400),
        (RateLimited("slow down", retry_after_seconds=30), 429),
    ],
)
def test_each_kind_has_one_status(error, status):
    assert error_status(error) == status
    assert error_response(_request(), error).status_code == status


def test_invalid_names_each_field_path_in_its_message():
    error = Invalid(
        errors={"budgets.period": ["must be one of daily, weekly"], "name": ["name: x"]}
    )
    assert error.message == "budgets.period: must be one of daily, weekly name: x"
    assert error.errors == {"budgets.period": ["must be one of daily, weekly"], "name": ["name: x"]}


def test_htmx_gets_the_status_a_toast_and_a_closed_dialog():
    request = _request(htmx=True)
    response = error_response(request, Refused("Only an Owner can do that."))
    assert response.status_code == 403
    assert "closeDialog" in json.loads(response.headers["HX-Trigger"])
    assert [str(message) for message in request._messages] == ["Only an Owner can do that."]


def test_rate_limited_says_when_to_retry_on_pages_and_htmx():
    error = RateLimited("Too many invitations today.", retry_after_seconds=3600)
    for htmx in (False, True):
        assert error_response(_request(htmx=htmx), error)["Retry-After"] == "3600"


def test_a_page_of_its_own_gets_the_message_and_status():
    shown = []

    def page(message, status):
        shown.append(message)
        return HttpResponse(message, status=status)

    response = error_response(_request(), Conflict("Someone changed it."), page=page)
    assert (response.status_code, shown) == (409, ["Someone changed it."])


def test_middleware_answers_an_unhandled_domain_error_and_leaves_others_alone():
    middleware = DomainErrorMiddleware(lambda request: HttpResponse())
    response = middleware.process_exception(_request(), NotFound("No such thing here."))
    assert response.status_code == 404
    assert b"No such thing here." in response.content
    assert middleware.process_exception(_request(), ValueError("not ours")) is None
    assert isinstance(NotFound("x"), DomainError)


def test_a_missing_config_version_is_a_404_that_says_so(client):
    organization = make_organization()
    client.force_login(add_member(organization, Role.MEMBER))
    response = client.get(f"/o/{organization.slug}/settings/organization/history/999/")
    assert response.status_code == 404
    assert b"Version 999 is not a saved version of this config." in response.content


def test_a_missing_capability_is_a_403_naming_the_role(client):
    organization = make_organization()
    viewer = add_member(organization, Role.VIEWER)
    client.force_login(viewer)
    response = client.get(f"/o/{organization.slug}/settings/keys/")
    assert response.status_code == 403
    assert (
        b"Viewers can&#x27;t see the org config or API keys. "
        b"Ask an Owner or Admin for the Member role." in response.content
    )
