"""The errors account and invitation services raise; views and the API turn them into messages
and statuses."""

from orgs.errors import ActionRefused


class InvitationUnusable(ActionRefused):
    """The invitation link cannot be used: `reason` says why, the message says what to do."""

    NOT_FOUND = "not_found"
    EXPIRED = "expired"
    REVOKED = "revoked"
    ACCEPTED = "accepted"
    WRONG_ACCOUNT = "wrong_account"
    NO_LONGER_VALID = "no_longer_valid"

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


class InvitationLimitReached(Exception):
    """Too many invitations in the last 24 hours; answer 429 with Retry-After."""

    def __init__(self, message: str, *, retry_after_seconds: int):
        super().__init__(message)
        self.message = message
        self.retry_after_seconds = retry_after_seconds


class AccountExists(Exception):
    """An account with this address exists, perhaps created a moment ago by a concurrent sign-up."""
