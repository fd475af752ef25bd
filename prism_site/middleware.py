"""Turns Django messages into toast events on htmx responses, which swap no message area."""

import json

from django.contrib import messages


class HtmxMessagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # A redirect or a refresh loads a new page, which shows the messages itself.
        reloads = {"HX-Redirect", "HX-Refresh", "HX-Location"} & set(response.headers)
        if not getattr(request, "htmx", False) or reloads:
            return response
        if 300 <= response.status_code < 400:
            return response
        toasts = [
            {"level": message.level_tag or "info", "message": str(message)}
            for message in messages.get_messages(request)
        ]
        if toasts:
            events = json.loads(response.headers.get("HX-Trigger") or "{}")
            events.setdefault("toast", [])
            events["toast"] += toasts
            response.headers["HX-Trigger"] = json.dumps(events)
        return response
