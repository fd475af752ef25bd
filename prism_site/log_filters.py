"""Logging filters that keep secrets carried in URLs (invitation tokens) out of the logs."""

import logging
import re
from collections.abc import Mapping

# `/invitations/<token>/`, also percent-encoded (`?next=%2Finvitations%2F<token>%2F`). An
# all-digit segment is an invitation id of Settings > Members (`.../invitations/12/resend/`),
# not a token, and stays readable.
_INVITATION_TOKEN = re.compile(
    r"(?P<before>(?:/|%2F)invitations(?:/|%2F))(?!\d+(?:/|%2F|\s|$))[^/\s?#&\"'%]+",
    re.IGNORECASE,
)
_HIDDEN = "…"


def hide_invitation_tokens(text: str) -> str:
    return _INVITATION_TOKEN.sub(rf"\g<before>{_HIDDEN}", text)


def _hidden_arg(value):
    # Numbers keep their type, so `%d` placeholders still format.
    if isinstance(value, (int, float)) or value is None:
        return value
    text = value if isinstance(value, str) else str(value)
    hidden = hide_invitation_tokens(text)
    return value if hidden == text else hidden


class InvitationTokenFilter(logging.Filter):
    """Replaces the token of every `/invitations/<token>/` in a record's message and args.

    A live token is a key to an organization: the request loggers would otherwise write it
    with every refused (403/410) invitation page and every runserver request line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = hide_invitation_tokens(record.msg)
        else:
            record.msg = _hidden_arg(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {key: _hidden_arg(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_hidden_arg(value) for value in record.args)
        return True
