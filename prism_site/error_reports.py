"""Error reports that hide sensitive variables even with DEBUG on.

Django switches its filter off under DEBUG, so a provider key typed into a form would show on
the debug error page; Prism's secrets must never be echoed, in any mode.
"""

from django.views.debug import SafeExceptionReporterFilter


class AlwaysSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    def is_active(self, request):
        return True
