"""Email addresses: how long one may be and how two are compared."""

# Every address column: RFC 5321's limit for a deliverable address.
EMAIL_MAX_LENGTH = 254


def normalize_email(email: str) -> str:
    """Emails are compared case-insensitively everywhere; we store them lower-cased."""
    return (email or "").strip().lower()
