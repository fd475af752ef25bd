"""Every write to memberships and invitations: role change, removal, leave; invite, accept.

Each takes a row lock on the organization first, so concurrent changes are serialized and
the "at least one Owner" rule is checked against committed state.
"""

import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from keys.permissions import own_key_rights_revoke
from members import access_tokens
from members.emails import link_token
from members.models import (
    Invitation,
    InvitationEmail,
    PersonalAccessToken,
    User,
    token_digest,
)
from members.selectors import invitation_for_token, invitation_refusal
from members.tasks import invitation_emails_send
from orgs import audit
from orgs.models import Membership, Organization, membership_sort_key
from orgs.permissions import membership_permissions_sync, organization_permissions
from orgs.roles import Capability, Role, assignable_roles, capability_needed_to_manage
from orgs.selectors import organization_lock
from orgs.services import membership_add
from prism_site.actor import Actor
from prism_site.addresses import EMAIL_MAX_LENGTH, normalize_email
from prism_site.errors import Conflict, Invalid, NotFound, RateLimited, Refused

# Gone, or in another organization: either way not found here.
NO_SUCH_MEMBER = "That person is not a member of this organization."
NO_SUCH_INVITATION = "That invitation does not exist in this organization."


def _locked_membership(organization: Organization, membership_id: int) -> Membership:
    membership = (
        Membership.objects.select_related("user")
        .filter(organization=organization, pk=membership_id)
        .first()
    )
    if membership is None:
        raise NotFound(NO_SUCH_MEMBER)
    return membership


def _check_actor_may_manage(*, user, organization: Organization, roles: list[str]) -> None:
    permissions = organization_permissions(user, organization)
    for role in roles:
        needed = capability_needed_to_manage(role)
        if needed.value not in permissions:
            if Role(role) == Role.OWNER:
                raise Refused(
                    "Only an Owner can grant, change or remove the Owner role.",
                    capability=needed.value,
                )
            raise Refused(
                "Your role does not allow changing members' roles.", capability=needed.value
            )


def _refuse_if_last_owner(organization: Organization, membership: Membership, doing: str):
    if membership.role != Role.OWNER:
        return
    owners = Membership.objects.filter(organization=organization, role=Role.OWNER).count()
    if owners <= 1:
        raise Refused(
            f"An organization needs at least one Owner: make someone else Owner before {doing}."
        )


@transaction.atomic
def membership_change_role(
    *,
    organization: Organization,
    membership_id: int,
    role: str,
    actor: Actor,
) -> Membership:
    organization = organization_lock(organization)
    membership = _locked_membership(organization, membership_id)
    new_role = Role(role)
    if membership.user_id == actor.user_id:
        raise Refused("You cannot change your own role; ask another Owner or Admin.")
    _check_actor_may_manage(
        user=actor.user, organization=organization, roles=[membership.role, new_role]
    )
    old_role = membership.role
    if old_role == new_role:
        return membership
    _refuse_if_last_owner(organization, membership, "demoting the last one")
    membership.role = new_role
    membership.sort_key = membership_sort_key(new_role, membership.user.email)
    membership.save(update_fields=["role", "sort_key"])
    membership_permissions_sync(user=membership.user, organization=organization, role=new_role)
    audit.record(
        organization=organization,
        actor=actor,
        action="member.role_change",
        target=membership.user.email,
        details={"from": old_role, "to": new_role.value},
    )
    return membership


@transaction.atomic
def membership_remove(
    *, organization: Organization, membership_id: int, actor: Actor
) -> Membership:
    """Remove a member; returns the removed membership (its user still loaded) for messages."""
    organization = organization_lock(organization)
    membership = _locked_membership(organization, membership_id)
    if membership.user_id == actor.user_id:
        raise Refused("To remove yourself, use Leave organization.")
    _check_actor_may_manage(user=actor.user, organization=organization, roles=[membership.role])
    _refuse_if_last_owner(organization, membership, "removing the last one")
    _delete_membership(membership, organization)
    audit.record(
        organization=organization,
        actor=actor,
        action="member.remove",
        target=membership.user.email,
        details={"role": membership.role},
    )
    return membership


@transaction.atomic
def membership_leave(*, organization: Organization, actor: Actor) -> None:
    organization = organization_lock(organization)
    user = actor.user
    membership = Membership.objects.filter(organization=organization, user=user).first()
    if membership is None:
        raise Refused("You are not a member of this organization.")
    _refuse_if_last_owner(organization, membership, "leaving")
    _delete_membership(membership, organization)
    audit.record(
        organization=organization,
        actor=actor,
        action="member.leave",
        target=user.email,
        details={"role": membership.role},
    )


def _delete_membership(membership: Membership, organization: Organization) -> None:
    membership_permissions_sync(user=membership.user, organization=organization, role=None)
    own_key_rights_revoke(user=membership.user, organization=organization)
    membership.delete()


# ---------------------------------------------------------------------------------------------
# Invitations: invite by email, resend, revoke, accept.
#
# The raw token exists only in memory: it goes into the emailed link and is returned to the
# caller once; the database keeps its SHA-256. The emails go out through the task worker, whose
# queued row carries a nonce from which only SECRET_KEY makes the token (`link_token`). Every
# service locks the organization row first, like the membership services, so invites, accepts
# and role changes of one org are serialized.
# ---------------------------------------------------------------------------------------------

INVITATION_LIFETIME = timedelta(days=7)
INVITATIONS_PER_REQUEST = 50
LIMIT_WINDOW = timedelta(days=1)
DAILY_LIMIT_PER_INVITER = 100
DAILY_LIMIT_PER_ORGANIZATION = 100
DAILY_LIMIT_PER_ADDRESS = 10


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    # The secret of the link; shown to nobody but the invitee's inbox and never stored.
    token: str = field(repr=False)
    refreshed: bool = False
    # What the delivery task stores instead of the token (see `link_token`).
    nonce: str = field(default="", repr=False)


@dataclass(frozen=True)
class InvitationBatch:
    issued: list[IssuedInvitation] = field(default_factory=list)
    already_members: list[str] = field(default_factory=list)
    # (address, why) for addresses left out because the inviter may not touch their invitation,
    # or because no invitation can go to them (too long to store, control characters).
    refused: list[tuple[str, str]] = field(default_factory=list)

    @property
    def only_unusable_addresses(self) -> bool:
        """Nothing went out and every address was left out for its own spelling."""
        return (
            not self.issued
            and not self.already_members
            and bool(self.refused)
            and all(address_problem(address) for address, _ in self.refused)
        )


@dataclass(frozen=True)
class InvitationAcceptance:
    membership: Membership
    already_member: bool = False


def _new_link() -> tuple[str, str, str]:
    """(nonce, token, digest) of a new invitation link."""
    nonce = secrets.token_urlsafe(32)  # 256 random bits
    token = link_token(nonce)
    return nonce, token, token_digest(token)


def _check_actor_may_invite(*, user, organization: Organization, role: str) -> None:
    permissions = organization_permissions(user, organization)
    if Capability.MANAGE_MEMBERS.value not in permissions:
        raise Refused(
            "Your role does not allow inviting members.",
            capability=Capability.MANAGE_MEMBERS.value,
        )
    if Role(role) not in assignable_roles(permissions):
        raise Refused(
            f"You cannot invite someone as {Role(role).label}: only an Owner can invite an Owner."
        )


_ADDRESS_SEPARATORS = re.compile(r"[\s,;]+")


def address_shown(address: str) -> str:
    """An address as a message can show it: control and invisible characters spelled out
    (\\x00, \\u202e), and a long one cut to its start and end."""
    shown = "".join(
        (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
        if unicodedata.category(char) in ("Cc", "Cf")
        else char
        for char in address
    )
    return shown if len(shown) <= 60 else f"{shown[:28]}…{shown[-28:]}"


def address_problem(address: str) -> str | None:
    """Why no invitation can go to this (normalized) address, or None.

    Such an address is left out on its own, like one the inviter may not touch, and the rest of
    the batch still goes out.
    """
    if len(address) > EMAIL_MAX_LENGTH:
        return (
            f"{address_shown(address)} is longer than {EMAIL_MAX_LENGTH} characters "
            f"({len(address)}), the most an email address can have."
        )
    hidden = sorted({char for char in address if unicodedata.category(char) in ("Cc", "Cf")})
    if hidden:
        return (
            f"{address_shown(address)} contains a control or invisible character "
            f"({', '.join(address_shown(char) for char in hidden)}); retype the address."
        )
    return None


def invitation_addresses(emails: str | Iterable[str]) -> list[str]:
    """The distinct, normalized addresses of an invite request, validated.

    `emails` is pasted text (addresses separated by commas, semicolons, spaces or new lines) or
    a list of such texts. The invite form validates with this too, so both say the same.
    Addresses with an `address_problem` are kept: the batch leaves them out one by one.
    """
    texts = [emails] if isinstance(emails, str) else emails
    addresses = list(
        dict.fromkeys(
            normalize_email(part)
            for text in texts
            for part in _ADDRESS_SEPARATORS.split(text)
            if part.strip()
        )
    )
    if not addresses:
        raise ValidationError("emails: enter at least one email address.", code="required")
    if len(addresses) > INVITATIONS_PER_REQUEST:
        raise ValidationError(
            f"emails: at most {INVITATIONS_PER_REQUEST} addresses at a time "
            f"({len(addresses)} given); send the rest in another batch.",
            code="too_many",
        )
    invalid = []
    for address in addresses:
        if address_problem(address):
            continue
        try:
            validate_email(address)
        except ValidationError:
            invalid.append(address)
    if invalid:
        raise ValidationError(
            f"emails: not valid email addresses: {', '.join(invalid)}. Fix or remove them.",
            code="invalid",
        )
    return addresses


def _limit_refusal(rows, *, excess: int, message: str) -> RateLimited:
    """Refusal saying when enough of the counted emails age out of the window."""
    oldest = list(rows.order_by("created_at").values_list("created_at", flat=True)[:excess])
    # Fewer counted rows than the excess: the request alone is over the limit.
    wait = LIMIT_WINDOW if len(oldest) < excess else oldest[-1] + LIMIT_WINDOW - timezone.now()
    seconds = max(60, int(wait.total_seconds()) + 1)
    hours, minutes = divmod((seconds + 59) // 60, 60)
    later = f"{hours} h {minutes} min" if hours else f"{minutes} min"
    return RateLimited(
        f"{message} Try again later (in about {later}).", retry_after_seconds=seconds
    )


def _check_invitation_limits(*, organization: Organization, sender, addresses: list[str]) -> None:
    if not addresses:
        return
    recent = InvitationEmail.objects.filter(created_at__gt=timezone.now() - LIMIT_WINDOW)
    wanted = len(addresses)

    by_organization = recent.filter(organization=organization)
    count = by_organization.count()
    if count + wanted > DAILY_LIMIT_PER_ORGANIZATION:
        raise _limit_refusal(
            by_organization,
            excess=count + wanted - DAILY_LIMIT_PER_ORGANIZATION,
            message=f"Invitation limit reached: {organization.name} can send "
            f"{DAILY_LIMIT_PER_ORGANIZATION} invitations a day and {count} went out in the "
            f"last 24 hours ({wanted} more asked).",
        )

    by_sender = recent.filter(sender=sender)
    count = by_sender.count()
    if count + wanted > DAILY_LIMIT_PER_INVITER:
        raise _limit_refusal(
            by_sender,
            excess=count + wanted - DAILY_LIMIT_PER_INVITER,
            message=f"Invitation limit reached: you can send {DAILY_LIMIT_PER_INVITER} "
            f"invitations a day and sent {count} in the last 24 hours ({wanted} more asked).",
        )

    busy = (
        by_organization.filter(email__in=addresses)
        .values("email")
        .annotate(sent=Count("id"))
        .filter(sent__gte=DAILY_LIMIT_PER_ADDRESS)
        .order_by("email")
    )
    for row in busy[:1]:
        raise _limit_refusal(
            by_organization.filter(email=row["email"]),
            excess=row["sent"] + 1 - DAILY_LIMIT_PER_ADDRESS,
            message=f"Invitation limit reached: {row['email']} was sent "
            f"{DAILY_LIMIT_PER_ADDRESS} invitations to {organization.name} in the last 24 hours.",
        )


def _deliver_on_commit(issued: list[IssuedInvitation], base_url: str) -> None:
    """Queue one task for the emails once the invitations are committed: the worker sends them,
    so the request answers at once whatever the mail server does. If queueing fails the
    invitations stay, shown as not sent yet, and Resend queues them again."""
    deliveries = [(item.invitation.pk, item.nonce) for item in issued]
    if deliveries:
        transaction.on_commit(
            partial(invitation_emails_send.enqueue, deliveries=deliveries, base_url=base_url),
            robust=True,
        )


@transaction.atomic
def invitations_send(
    *,
    organization: Organization,
    emails: str | Iterable[str],
    role: str,
    actor: Actor,
    base_url: str,
) -> InvitationBatch:
    """Invite each address (at most 50); an open invitation to the same address is refreshed.

    Addresses that already belong to members are skipped and listed in the result, and so are
    addresses whose open invitation has a role the inviter may not manage, and addresses no
    invitation can go to (`address_problem`). The emails are queued for the worker when the
    transaction commits; `base_url` (scheme and host) starts their links. The rows are written
    in bulk, so the queries do not grow with the number of addresses.
    """
    inviter = actor.user
    addresses, unusable = [], []
    for address in invitation_addresses(emails):
        problem = address_problem(address)
        if problem is None:
            addresses.append(address)
        else:
            unusable.append((address, problem))
    role = Role(role)
    organization = organization_lock(organization)
    # Serializes one inviter's invitations across orgs, so the per-inviter limit is exact.
    User.objects.select_for_update().filter(pk=inviter.pk).first()
    _check_actor_may_invite(user=inviter, organization=organization, role=role)

    members = set(
        Membership.objects.filter(organization=organization, user__email__in=addresses).values_list(
            "user__email", flat=True
        )
    )
    open_invitations = {
        invitation.email: invitation
        for invitation in Invitation.objects.select_for_update().filter(
            organization=organization,
            email__in=[address for address in addresses if address not in members],
            accepted_at__isnull=True,
            revoked_at__isnull=True,
        )
    }
    # Refreshing replaces the role and the link: an Admin must not downgrade (and so cancel)
    # an Owner's pending Owner invitation by inviting the same address.
    permissions = organization_permissions(inviter, organization)
    refused = [
        (
            invitation.email,
            f"{invitation.email} has a pending {Role(invitation.role).label} invitation, "
            "which only an Owner can change.",
        )
        for invitation in open_invitations.values()
        if capability_needed_to_manage(invitation.role).value not in permissions
    ]
    refused_addresses = {address for address, _ in refused}
    addresses_to_invite = [
        address
        for address in addresses
        if address not in members and address not in refused_addresses
    ]
    _check_invitation_limits(
        organization=organization, sender=inviter, addresses=addresses_to_invite
    )
    now = timezone.now()
    issued, created, refreshed = [], [], []
    for address in addresses_to_invite:
        nonce, token, digest = _new_link()
        invitation = open_invitations.get(address)
        if invitation is None:
            invitation = Invitation(
                organization=organization,
                email=address,
                role=role,
                invited_by=inviter,
                token_hash=digest,
                created_at=now,
                expires_at=now + INVITATION_LIFETIME,
            )
            created.append(invitation)
        else:
            invitation.role = role
            invitation.invited_by = inviter
            invitation.token_hash = digest
            invitation.expires_at = now + INVITATION_LIFETIME
            # The new link is not emailed yet: the worker sets sent_at when it is.
            invitation.sent_at = None
            invitation.delivery_failed_at = None
            invitation.delivery_error = ""
            refreshed.append(invitation)
        issued.append(
            IssuedInvitation(
                invitation=invitation,
                token=token,
                refreshed=address in open_invitations,
                nonce=nonce,
            )
        )
    Invitation.objects.bulk_create(created)
    Invitation.objects.bulk_update(
        refreshed,
        fields=[
            "role",
            "invited_by",
            "token_hash",
            "expires_at",
            "sent_at",
            "delivery_failed_at",
            "delivery_error",
        ],
    )
    audit.record_many(
        organization=organization,
        actor=actor,
        action="invitation.create",
        entries=[
            (item.invitation.email, {"role": role.value, "refreshed": item.refreshed})
            for item in issued
        ],
    )
    InvitationEmail.objects.bulk_create(
        [
            InvitationEmail(
                organization=organization,
                invitation=item.invitation,
                sender=inviter,
                email=item.invitation.email,
                created_at=now,
            )
            for item in issued
        ]
    )
    _deliver_on_commit(issued, base_url)
    return InvitationBatch(
        issued=issued, already_members=sorted(members), refused=sorted(refused) + unusable
    )


def _open_invitation(organization: Organization, invitation_id: int) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update()
        .filter(organization=organization, pk=invitation_id)
        .first()
    )
    if invitation is None:
        raise NotFound(NO_SUCH_INVITATION)
    if invitation.accepted_at:
        raise Refused(f"The invitation to {invitation.email} was already accepted.")
    if invitation.revoked_at:
        raise Refused(f"The invitation to {invitation.email} was already revoked.")
    return invitation


@transaction.atomic
def invitation_resend(
    *,
    organization: Organization,
    invitation_id: int,
    actor: Actor,
    base_url: str,
) -> IssuedInvitation:
    """A new link (the old one stops working) and a new 7-day expiry, queued for the worker to
    email once the transaction commits."""
    organization = organization_lock(organization)
    User.objects.select_for_update().filter(pk=actor.user_id).first()
    invitation = _open_invitation(organization, invitation_id)
    _check_actor_may_invite(user=actor.user, organization=organization, role=invitation.role)
    if Membership.objects.filter(organization=organization, user__email=invitation.email).exists():
        raise Refused(
            f"{invitation.email} is already a member of {organization.name}: revoke the "
            "invitation instead."
        )
    _check_invitation_limits(
        organization=organization, sender=actor.user, addresses=[invitation.email]
    )
    nonce, token, digest = _new_link()
    now = timezone.now()
    invitation.token_hash = digest
    invitation.invited_by = actor.user
    invitation.expires_at = now + INVITATION_LIFETIME
    invitation.sent_at = None
    invitation.delivery_failed_at = None
    invitation.delivery_error = ""
    invitation.save(
        update_fields=[
            "token_hash",
            "invited_by",
            "expires_at",
            "sent_at",
            "delivery_failed_at",
            "delivery_error",
        ]
    )
    InvitationEmail.objects.create(
        organization=organization,
        invitation=invitation,
        sender=actor.user,
        email=invitation.email,
        created_at=now,
    )
    audit.record(
        organization=organization,
        actor=actor,
        action="invitation.resend",
        target=invitation.email,
        details={"role": invitation.role},
    )
    issued = IssuedInvitation(invitation=invitation, token=token, refreshed=True, nonce=nonce)
    _deliver_on_commit([issued], base_url)
    return issued


@transaction.atomic
def invitation_revoke(
    *, organization: Organization, invitation_id: int, actor: Actor
) -> Invitation:
    organization = organization_lock(organization)
    invitation = _open_invitation(organization, invitation_id)
    _check_actor_may_invite(user=actor.user, organization=organization, role=invitation.role)
    invitation.revoked_at = timezone.now()
    invitation.revoked_by = actor.user
    invitation.save(update_fields=["revoked_at", "revoked_by"])
    audit.record(
        organization=organization,
        actor=actor,
        action="invitation.revoke",
        target=invitation.email,
        details={"role": invitation.role},
    )
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, actor: Actor) -> InvitationAcceptance:
    """Join the org with the invitation's role; only the invited email's account can."""
    user = actor.user
    found = invitation_for_token(token)
    if found is None:
        raise invitation_refusal(None, user=user)
    organization = organization_lock(found.organization)
    # Re-read under the lock: a concurrent accept, revoke or resend has committed by now.
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("invited_by")
        .filter(pk=found.pk, token_hash=token_digest(token))
        .first()
    )
    if invitation is None:
        raise invitation_refusal(None, user=user)
    invitation.organization = organization
    existing = Membership.objects.filter(organization=organization, user=user).first()
    refusal = invitation_refusal(invitation, user=user, already_member=existing is not None)
    if refusal is not None:
        raise refusal
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    if existing is None:
        membership = membership_add(organization=organization, user=user, role=invitation.role)
    else:
        membership = existing
    audit.record(
        organization=organization,
        actor=actor,
        action="invitation.accept",
        target=user.email,
        details={
            "role": membership.role,
            "invited_by": invitation.invited_by.email if invitation.invited_by else "",
            "already_member": existing is not None,
        },
    )
    return InvitationAcceptance(membership=membership, already_member=existing is not None)


@transaction.atomic
def account_create(*, email: str, password: str, display_name: str = "") -> User:
    """A new account. Raises Conflict (code `account_exists`) when the address is taken, also
    when a concurrent sign-up with the same address won between the form's check and this
    insert."""
    try:
        with transaction.atomic():
            return User.objects.create_user(email, password, display_name=display_name)
    except IntegrityError:
        raise Conflict(f"An account with {email} already exists.", code="account_exists") from None


def account_create_for_invitation(*, invitation: Invitation, password: str, display_name: str = ""):
    """An account for the invited address; the invitation link proved the address is theirs."""
    return account_create(email=invitation.email, password=password, display_name=display_name)


@transaction.atomic
def account_create_and_join(
    *, token: str, invitation: Invitation, password: str, display_name: str = "", ip_address: str
) -> InvitationAcceptance:
    """Sign up from an invitation link and accept it in one step: the person came to join, so
    the account exists only with its membership (an invitation revoked meanwhile undoes both)."""
    user = account_create_for_invitation(
        invitation=invitation, password=password, display_name=display_name
    )
    return invitation_accept(token=token, actor=Actor(user=user, ip_address=ip_address))


# -- Personal access tokens ---------------------------------------------------------------------

TOKEN_NAME_MAX_LENGTH = 100
NO_SUCH_TOKEN = "No such token of yours."  # noqa: S105 - a message, not a secret


@dataclass(frozen=True)
class IssuedToken:
    """A token with its secret: the only moment the secret exists outside its owner's hands."""

    token: PersonalAccessToken
    secret: str


@transaction.atomic
def access_token_create(*, user: User, name: str, expires_at=None, now=None) -> IssuedToken:
    """A new personal access token for `user`; the secret is returned once and never stored."""
    now = now or timezone.now()
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["name: give the token a name, such as the script that will use it."]
    elif len(name) > TOKEN_NAME_MAX_LENGTH or "\x00" in name:
        errors["name"] = [f"name: use at most {TOKEN_NAME_MAX_LENGTH} characters."]
    if expires_at is not None and expires_at <= now:
        errors["expires_at"] = ["expires_at: pick a time in the future, or none for no expiry."]
    if errors:
        raise Invalid(errors=errors)
    secret = access_tokens.generate_token()
    prefix, last4 = access_tokens.display_parts(secret)
    token = PersonalAccessToken.objects.create(
        user=user,
        name=name,
        public_id=access_tokens.generate_public_id(),
        secret_hash=access_tokens.hash_token(secret),
        secret_prefix=prefix,
        secret_last4=last4,
        created_at=now,
        expires_at=expires_at,
    )
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def access_token_revoke(*, user: User, public_id: str, now=None) -> PersonalAccessToken:
    """Stop one of `user`'s tokens at once (someone else's token is as absent as none)."""
    now = now or timezone.now()
    token = (
        PersonalAccessToken.objects.select_for_update()
        .filter(user=user, public_id=str(public_id)[:40])
        .first()
    )
    if token is None:
        raise NotFound(NO_SUCH_TOKEN)
    if token.revoked_at is None:
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
    return token
