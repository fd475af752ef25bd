"""Debug error pages hide POSTed secrets too (Django's own filter is off under DEBUG)."""

from django.test import RequestFactory
from django.views.debug import ExceptionReporter
from django.views.decorators.debug import sensitive_variables

CANARY = "sk-canary-123456"


@sensitive_variables("post_data")
def _debug_page_for(post_data: dict) -> str:
    # The traceback starts in this frame, whose source never holds the canary itself.
    request = RequestFactory().post("/x/", post_data)
    request.sensitive_post_parameters = "__ALL__"
    try:
        raise ValueError("boom")
    except ValueError as error:
        reporter = ExceptionReporter(request, type(error), error, error.__traceback__)
        return reporter.get_traceback_html()


def test_debug_error_page_masks_sensitive_post_parameters(settings):
    settings.DEBUG = True
    html = _debug_page_for({"api_key": CANARY})
    assert CANARY not in html
    assert "boom" in html and "api_key" in html
