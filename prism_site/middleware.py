"""Turns Django messages into toast events on htmx responses, which swap no message area."""

import json

from django.contrib import messages


class HtmxMessagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or "HX-Redirect" in response.headers:
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
