"""The error services raise when a rule refuses an action; views show its message."""

from django.core.exceptions import PermissionDenied


class ActionRefused(PermissionDenied):
    """A rule of SPEC §2 forbids this action; the message says which and what to do instead."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
