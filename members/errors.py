"""The one error with details only invitations have; it is a Refused (prism_site.errors)."""

from prism_site.errors import Refused


class InvitationUnusable(Refused):
    """The invitation link cannot be used: `reason` says why, the message says what to do."""

    NOT_FOUND = "not_found"
    EXPIRED = "expired"
    REVOKED = "revoked"
    ACCEPTED = "accepted"
    WRONG_ACCOUNT = "wrong_account"
    NO_LONGER_VALID = "no_longer_valid"

    def __init__(self, message: str, *, reason: str):
        super().__init__(message, code=f"invitation_{reason}")
        self.reason = reason
