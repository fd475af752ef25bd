"""Who acts: the account, the API key or personal access token it acts through (if any) and the
client's address.

Every service that changes something takes one `Actor` and every audit entry records it, so the
pages, the admin API and management commands call the same services the same way.
"""

from dataclasses import dataclass
from typing import Any

from prism_site.http import client_ip


@dataclass(frozen=True)
class Actor:
    # The account acting; its role in the org is looked up at the time of the action.
    user: Any
    ip_address: str | None = None
    # The public id of the API key the request came with; empty on the dashboard.
    api_key_id: str = ""
    # The public id of the personal access token the request came with (admin API); else empty.
    token_id: str = ""

    @classmethod
    def for_request(cls, request, *, api_key_id: str = "") -> "Actor":
        return cls(user=request.user, ip_address=client_ip(request), api_key_id=api_key_id)

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)

    @property
    def email(self) -> str:
        return getattr(self.user, "email", "") or ""
