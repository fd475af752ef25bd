"""The admin API's authentication: `Authorization: Bearer <credential>`, where the credential is
an API key with the admin scope (`sk-prism-…`) or a personal access token (`prism_pat_…`); and
the admin API's members and invitations routes.

A key acts for its own org only, with its creator's role there now: a demoted creator's key
can do less on the next call, and a key whose creator has left the org (or whose account is
gone) can do nothing: 403, since the key itself is genuine and unrevoked, but holds no rights
(a 401 would tell the client to fix its credential, and no other secret of this key would
help). A token acts as its user in every org of theirs. Revoked, expired, rotated-out and
unknown credentials are 401; a key without the admin scope is 403. Session cookies are not
read: without a bearer credential the answer is 401, so the API has no CSRF surface.
Each credential's calls are counted against ADMIN_API_RATE_LIMIT_PER_MINUTE (429).
"""

import logging
import re
from datetime import datetime

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils import timezone
from ninja import Router, Schema
from ninja.security import HttpBearer

from keys.models import Scope
from keys.secrets import SECRET_PREFIX, key_creator_membership, lookup
from keys.services import key_mark_used
from members import services
from members.access_tokens import TOKEN_PREFIX, token_lookup, token_mark_used
from members.models import Invitation
from members.selectors import invitation_in_organization, members_page, open_invitations
from members.services import NO_SUCH_INVITATION, NO_SUCH_MEMBER
from orgs.api_access import ApiCaller, api_organization
from orgs.api_requests import Answer, api_rate_limit_check, idempotency_key_read, idempotent
from orgs.models import Membership
from orgs.roles import Capability, Role
from prism_site.api_errors import ADMIN_ERRORS, ApiError
from prism_site.api_http import json_object, read_body
from prism_site.errors import Conflict, NotFound
from prism_site.http import client_ip

logger = logging.getLogger("members.api")

CREDENTIAL_HELP = (
    "Send an API key with the admin scope (sk-prism-…) or a personal access token "
    "(prism_pat_…) as `Authorization: Bearer <credential>`."
)


def _bearer(request) -> str | None:
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    return credential.strip()


def _refused(request, status: int, code: str, message: str, *, credential_id: str = ""):
    logger.warning(
        "Admin API refused %s %s from %s: %s%s",
        request.method,
        request.path,
        client_ip(request),
        code,
        f" ({credential_id})" if credential_id else "",
        extra={"client_ip": client_ip(request)},
    )
    return ApiError(status, code, message)


def _key_caller(request, secret: str, now) -> ApiCaller:
    found = lookup(secret, now=now)
    key_id = found.key.public_id if found.key else ""
    if not found.usable:
        raise _refused(request, 401, f"key_{found.result}", found.message, credential_id=key_id)
    key = found.key
    if Scope.ADMIN.value not in (key.scopes or []):
        raise _refused(
            request,
            403,
            "key_without_admin_scope",
            "This key has only the gateway scope: it sends requests through the gateway but "
            "cannot call the admin API. Use a key with the admin scope (an Admin or Owner "
            "creates one) or a personal access token.",
            credential_id=key_id,
        )
    # Loaded with the key (one query), with the creator, the org and its config version.
    creator_membership = key_creator_membership(key)
    if creator_membership is None:
        raise _refused(
            request,
            403,
            "key_creator_not_member",
            "This key acts with its creator's role, and its creator is no longer a member of "
            f"{key.organization.slug}, so it holds no rights. Revoke it and use a key of a "
            "current Admin or Owner.",
            credential_id=key_id,
        )
    key_mark_used(key, now=now)
    return ApiCaller(
        user=creator_membership.user,
        organization=creator_membership.organization,
        ip_address=client_ip(request),
        api_key_id=key.public_id,
        membership=creator_membership,
    )


def _token_caller(request, presented: str, now) -> ApiCaller:
    found = token_lookup(presented, now=now)
    if not found.usable:
        token_id = found.token.public_id if found.token else ""
        raise _refused(request, 401, f"token_{found.result}", found.message, credential_id=token_id)
    token_mark_used(found.token, now=now)
    return ApiCaller(
        user=found.token.user,
        organization=None,
        ip_address=client_ip(request),
        token_id=found.token.public_id,
    )


def authenticate_admin(request) -> ApiCaller:
    """The caller a request's bearer credential stands for, counted against the rate limit;
    raises ApiError (401/403) or RateLimited (429) otherwise."""
    presented = _bearer(request)
    if presented is None:
        raise _refused(request, 401, "missing_credential", CREDENTIAL_HELP)
    now = timezone.now()
    if presented.startswith(TOKEN_PREFIX):
        caller = _token_caller(request, presented, now)
    elif presented.startswith(SECRET_PREFIX):
        caller = _key_caller(request, presented, now)
    else:
        raise _refused(request, 401, "invalid_credential", CREDENTIAL_HELP)
    api_rate_limit_check(caller.credential_id, now=now)
    return caller


class AdminCredential(HttpBearer):
    """django-ninja auth of the admin routers: the OpenAPI document shows a bearer scheme."""

    openapi_description = (
        "An API key with the admin scope (`sk-prism-…`, acts for its org with its creator's "
        "current role) or a personal access token (`prism_pat_…`, acts as its user)."
    )

    def __call__(self, request):
        # Not HttpBearer's own: in DEBUG it logs the header it refuses, secret and all.
        return authenticate_admin(request)

    def authenticate(self, request, token):  # pragma: no cover - __call__ does the work
        return None


# -- Members and invitations ---------------------------------------------------------------------
#
# Through the services of Settings > Members, so the rules are the page's: nobody changes their
# own role, only an Owner touches the Owner role, an org keeps an Owner, the invitation limits.
# A member's id is `mem_<membership id>`: stable while the person stays in the org (someone who
# leaves and is invited back is a new membership), and the same number the page's URLs use. An
# invitation's id is `inv_<invitation id>`. Neither exposes anything of another org: each is
# looked up inside the org the route names.

router = Router(tags=["members"])

MEMBERS_PAGE_SIZE = 50
INVITATIONS_PAGE_SIZE = 50
MEMBER_ID = re.compile(r"mem_([1-9][0-9]{0,17})")
INVITATION_ID = re.compile(r"inv_([1-9][0-9]{0,17})")


class MemberOut(Schema):
    id: str
    email: str
    name: str
    role: Role
    joined_at: datetime
    last_seen_at: datetime | None


class MemberList(Schema):
    data: list[MemberOut]
    next_cursor: str | None


class RoleIn(Schema):
    role: Role


class InvitationOut(Schema):
    id: str
    email: str
    role: Role
    status: str  # pending, expired or not_delivered while open; revoked once revoked
    invited_by: str | None
    created_at: datetime
    sent_at: datetime | None
    expires_at: datetime


class InvitationList(Schema):
    data: list[InvitationOut]
    next_cursor: str | None


class InvitationsIn(Schema):
    emails: list[str]
    role: Role = Role.MEMBER


class InvitationResult(Schema):
    email: str
    # invited (a new invitation), refreshed (an open one got a new link and this role),
    # already_member, or refused (`message` says why).
    result: str
    message: str | None
    invitation: InvitationOut | None


class InvitationBatchOut(Schema):
    data: list[InvitationResult]


def member_out(membership: Membership) -> dict:
    return {
        "id": f"mem_{membership.pk}",
        "email": membership.user.email,
        "name": membership.user.name,
        "role": membership.role,
        "joined_at": membership.created_at,
        "last_seen_at": membership.last_seen_at,
    }


def invitation_out(invitation: Invitation) -> dict:
    inviter = invitation.invited_by
    return {
        "id": f"inv_{invitation.pk}",
        "email": invitation.email,
        "role": invitation.role,
        "status": invitation.status,
        "invited_by": inviter.email if inviter else None,
        "created_at": invitation.created_at,
        "sent_at": invitation.sent_at,
        "expires_at": invitation.expires_at,
    }


def _number(pattern: re.Pattern, value: str, missing: str) -> int:
    match = pattern.fullmatch(value)
    if match is None:
        raise NotFound(missing)
    return int(match.group(1))


def _only(data: dict, allowed: tuple[str, ...]) -> dict:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ApiError(
            422,
            "invalid",
            f"{unknown[0]}: unknown field; send only {', '.join(allowed)}.",
            param=unknown[0],
        )
    return data


def _role(value) -> Role:
    if value not in Role.values:
        raise ApiError(
            422, "invalid", f"role: must be one of {', '.join(Role.values)}.", param="role"
        )
    return Role(value)


@router.get(
    "orgs/{org_id}/members",
    url_name="org-members",
    response={200: MemberList, **ADMIN_ERRORS},
    summary="List the org's members, Owners first, then by email",
)
def member_list(request, org_id: str, role: Role | None = None, cursor: str | None = None):
    """50 a page; pass `next_cursor` back as `cursor`. `role` keeps one role's members."""
    access = api_organization(request.auth, org_id, Capability.VIEW_MEMBERS)
    page = members_page(
        access.organization,
        role=role.value if role else "",
        cursor=cursor,
        size=MEMBERS_PAGE_SIZE,
    )
    return {
        "data": [member_out(membership) for membership in page.memberships],
        "next_cursor": page.page.next_cursor,
    }


@router.patch(
    "orgs/{org_id}/members/{member_id}",
    url_name="org-member",
    response={200: MemberOut, **ADMIN_ERRORS},
    summary="Change a member's role",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": RoleIn.model_json_schema()}},
        }
    },
)
def member_change_role(request, org_id: str, member_id: str):
    """`{"role": "owner|admin|member|viewer"}`. Only an Owner grants or takes the Owner role,
    nobody changes their own, and the last Owner stays an Owner (403 saying so)."""
    caller: ApiCaller = request.auth
    access = api_organization(caller, org_id, Capability.MANAGE_MEMBERS)
    membership_id = _number(MEMBER_ID, member_id, NO_SUCH_MEMBER)
    data = _only(json_object(read_body(request)), ("role",))
    membership = services.membership_change_role(
        organization=access.organization,
        membership_id=membership_id,
        role=_role(data.get("role")),
        actor=caller.actor,
    )
    return member_out(membership)


@router.delete(
    "orgs/{org_id}/members/{member_id}",
    url_name="org-member",
    response={204: None, **ADMIN_ERRORS},
    summary="Remove a member from the org",
)
def member_remove(request, org_id: str, member_id: str):
    """Their keys stay (an Admin revokes them); their rights in the org end at once. Yourself:
    use the dashboard's Leave organization. The last Owner cannot be removed."""
    caller: ApiCaller = request.auth
    access = api_organization(caller, org_id, Capability.MANAGE_MEMBERS)
    services.membership_remove(
        organization=access.organization,
        membership_id=_number(MEMBER_ID, member_id, NO_SUCH_MEMBER),
        actor=caller.actor,
    )
    return HttpResponse(status=204)


@router.get(
    "orgs/{org_id}/invitations",
    url_name="org-invitations",
    response={200: InvitationList, **ADMIN_ERRORS},
    summary="List the org's open invitations, newest first",
)
def invitation_list(request, org_id: str, cursor: str | None = None):
    """Neither accepted nor revoked (expired ones included: they can be sent again from the
    dashboard). 50 a page; pass `next_cursor` back as `cursor`."""
    access = api_organization(request.auth, org_id, Capability.VIEW_MEMBERS)
    pending = open_invitations(access.organization, cursor=cursor, limit=INVITATIONS_PAGE_SIZE)
    return {
        "data": [invitation_out(invitation) for invitation in pending.invitations],
        "next_cursor": pending.page.next_cursor,
    }


def _batch_out(batch: services.InvitationBatch) -> list[dict]:
    results = [
        {
            "email": item.invitation.email,
            "result": "refreshed" if item.refreshed else "invited",
            "message": None,
            "invitation": invitation_out(item.invitation),
        }
        for item in batch.issued
    ]
    results += [
        {"email": email, "result": "already_member", "message": None, "invitation": None}
        for email in batch.already_members
    ]
    results += [
        {"email": email, "result": "refused", "message": reason, "invitation": None}
        for email, reason in batch.refused
    ]
    return results


@router.post(
    "orgs/{org_id}/invitations",
    url_name="org-invitations",
    response={200: InvitationBatchOut, 201: InvitationBatchOut, **ADMIN_ERRORS},
    summary="Invite people by email (up to 50 addresses), each with a result",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": InvitationsIn.model_json_schema()}},
        }
    },
)
def invitation_create(request, org_id: str):
    """`{"emails": [...], "role": "member"}`. Each address gets a result: `invited`,
    `refreshed` (an open invitation got a new link), `already_member` or `refused` (with why).
    `201` when any invitation went out, else `200`. The emails are sent by the worker; the
    link's secret is in the email only. An `Idempotency-Key` header makes retries safe."""
    caller: ApiCaller = request.auth
    access = api_organization(caller, org_id, Capability.MANAGE_MEMBERS)
    body = read_body(request)
    data = _only(json_object(body), ("emails", "role"))
    idempotency_key = idempotency_key_read(request.headers.get("Idempotency-Key"))
    emails = data.get("emails")
    if not isinstance(emails, list) or not all(isinstance(email, str) for email in emails):
        raise ApiError(
            422,
            "invalid",
            'emails: send a list of email addresses, such as ["ada@example.com"].',
            param="emails",
        )
    role = _role(data.get("role", Role.MEMBER.value))

    def send() -> tuple[Answer, int]:
        try:
            batch = services.invitations_send(
                organization=access.organization,
                emails=emails,
                role=role,
                actor=caller.actor,
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as error:
            raise ApiError(422, "invalid", " ".join(error.messages), param="emails") from None
        status = 201 if batch.issued else 200
        return Answer(status=status, body={"data": _batch_out(batch)}), access.organization.pk

    answer = idempotent(
        credential=caller.credential_id,
        key=idempotency_key,
        request=f"POST {request.path}",
        body=body,
        run=send,
    )
    return answer.response()


@router.delete(
    "orgs/{org_id}/invitations/{invitation_id}",
    url_name="org-invitation",
    response={200: InvitationOut, **ADMIN_ERRORS},
    summary="Revoke an open invitation: its link stops working",
)
def invitation_revoke(request, org_id: str, invitation_id: str):
    """Revoking a revoked invitation changes nothing and answers it as it is; an accepted one
    is `409`."""
    caller: ApiCaller = request.auth
    access = api_organization(caller, org_id, Capability.MANAGE_MEMBERS)
    number = _number(INVITATION_ID, invitation_id, NO_SUCH_INVITATION)
    invitation = invitation_in_organization(access.organization, number)
    if invitation is None:
        raise NotFound(NO_SUCH_INVITATION)
    if invitation.accepted_at is not None:
        raise Conflict(
            f"The invitation to {invitation.email} was already accepted: remove the member "
            "instead.",
            code="invitation_accepted",
        )
    if invitation.revoked_at is None:
        invitation = services.invitation_revoke(
            organization=access.organization, invitation_id=number, actor=caller.actor
        )
    return invitation_out(invitation)
