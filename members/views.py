"""Settings > Members (list, roles, removal, leaving, invitations) and the invitation pages."""

from typing import NamedTuple

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from members import selectors, services
from members.errors import InvitationUnusable
from members.invitation_forms import (
    InvitationForm,
    InvitationSignupForm,
    MemberFilterForm,
    RoleChangeForm,
)
from members.models import User
from orgs.access import OrgAccess, org_view
from orgs.models import Membership
from orgs.roles import Capability, Role, assignable_roles, capability_needed_to_manage
from orgs.selectors import member_count
from prism_site.actor import Actor
from prism_site.error_responses import error_response
from prism_site.errors import Conflict, DomainError, Invalid, RateLimited, Refused
from prism_site.http import client_ip
from prism_site.paging import COUNT_LIMIT, count_up_to

PAGE = "members/list.html"


def _base_url(request) -> str:
    """Scheme and host of this request: invitation links point where the inviter works."""
    return request.build_absolute_uri("/")


class Moment(NamedTuple):
    """A time as the lists show it, in the site's zone: ISO (for `datetime`), day, minute."""

    iso: str
    day: str
    minute: str


def _moment(value) -> Moment:
    # Formatted here once per row: date filters were the bulk of a page's rendering cost.
    local = timezone.localtime(value)
    return Moment(local.isoformat(), local.strftime("%Y-%m-%d"), local.strftime("%Y-%m-%d %H:%M"))


def _decorate_memberships(memberships, access: OrgAccess) -> None:
    for membership in memberships:
        membership.is_me = membership.user_id == access.membership.user_id
        membership.manageable = not membership.is_me and access.can(
            capability_needed_to_manage(membership.role)
        )
        membership.joined = _moment(membership.created_at)


def _decorate_invitations(invitations, access: OrgAccess) -> None:
    for invitation in invitations:
        invitation.manageable = access.can(capability_needed_to_manage(invitation.role))
        invitation.sent = _moment(invitation.sent_at) if invitation.sent_at else None
        invitation.expires = _moment(invitation.expires_at)


def _invitation_form(access: OrgAccess, data=None) -> InvitationForm:
    return InvitationForm(data, roles=assignable_roles(access.permissions))


def _invitations_cursor(request) -> str | None:
    """The pending-invitations page a row action was posted from, to return to it."""
    cursor = request.GET.get(selectors.INVITATIONS_ORDER.param)
    return cursor if selectors.INVITATIONS_ORDER.accepts(cursor) else None


def _pending_query(cursor: str | None) -> str:
    return f"?{urlencode({selectors.INVITATIONS_ORDER.param: cursor})}" if cursor else ""


def _members_root(access: OrgAccess) -> str:
    """The list's URL, once a page: row links are this plus the row's id and action."""
    return reverse("members:list", kwargs={"slug": access.organization.slug})


def _invitations_context(request, access: OrgAccess, *, invite_form=None) -> dict:
    pending = selectors.open_invitations(
        access.organization, cursor=request.GET.get(selectors.INVITATIONS_ORDER.param)
    )
    _decorate_invitations(pending.invitations, access)
    return {
        "invitations": pending.invitations,
        "invitations_total": pending.total,
        "pending": pending,
        # Row actions post back with the page they were on, and re-render that page.
        "pending_query": _pending_query(pending.page.cursor),
        "invite_form": invite_form or _invitation_form(access),
        "members_root": _members_root(access),
    }


def _page_context(request, access: OrgAccess, *, full_page: bool = True, **overrides) -> dict:
    """The whole page's context; `full_page=False` is just the members table (htmx filter)."""
    search, role = MemberFilterForm(request.GET or None).values()
    listing = selectors.members_page(
        access.organization,
        search=search,
        role=role,
        cursor=request.GET.get(selectors.MEMBERS_ORDER.param),
    )
    _decorate_memberships(listing.memberships, access)
    filtered = bool(search or role)
    context = {
        "listing": listing,
        "count_limit": COUNT_LIMIT,
        "search": search,
        "role_filter": role,
        "role_choices": Role.choices,
        "assignable": assignable_roles(access.permissions),
        "members_root": _members_root(access),
        "refusal": None,
    }
    if full_page:
        context["member_total"] = (
            count_up_to(Membership.objects.filter(organization=access.organization))
            if filtered
            else listing.matches
        )
        invite_form = overrides.pop("invite_form", None)
        context.update(_invitations_context(request, access, invite_form=invite_form))
    context.update(overrides)
    return context


def _row_context(access: OrgAccess, membership: Membership) -> dict:
    _decorate_memberships([membership], access)
    return {
        "membership": membership,
        "assignable": assignable_roles(access.permissions),
        "members_root": _members_root(access),
    }


def _refused(request, access: OrgAccess, error: DomainError, form=None):
    """A refusal the person sees (status from the error): a toast for htmx, else this page with
    the reason on top; a plain invite post keeps what was typed, with the reason on it."""

    def page(message: str, status: int):
        if form is not None:
            form.add_error(None, message)
            return render(
                request, PAGE, _page_context(request, access, invite_form=form), status=status
            )
        return render(request, PAGE, _page_context(request, access, refusal=message), status=status)

    return error_response(request, error, page=page)


def _back_to_list(access: OrgAccess):
    return redirect("members:list", slug=access.organization.slug)


@org_view(Capability.VIEW_MEMBERS)
def member_list(request, access: OrgAccess):
    if request.htmx and request.htmx.target == "members-table":
        context = _page_context(request, access, full_page=False)
        return render(request, f"{PAGE}#members-table", context)
    if request.htmx and request.htmx.target == "invitations":
        return _invitations_section(request, access)
    return render(request, PAGE, _page_context(request, access))


@require_POST
@org_view(Capability.MANAGE_MEMBERS)
def member_change_role(request, access: OrgAccess, membership_id: int):
    form = RoleChangeForm(request.POST)
    if not form.is_valid():
        return _refused(
            request, access, Invalid(form.errors["role"][0], errors={"role": form.errors["role"]})
        )
    try:
        membership = services.membership_change_role(
            organization=access.organization,
            membership_id=membership_id,
            role=form.cleaned_data["role"],
            actor=Actor.for_request(request),
        )
    except DomainError as error:
        return _refused(request, access, error)
    messages.success(request, f"{membership.user.email} is now {membership.get_role_display()}.")
    if request.htmx:
        return render(request, f"{PAGE}#member-row", _row_context(access, membership))
    return _back_to_list(access)


@require_POST
@org_view(Capability.MANAGE_MEMBERS)
def member_remove(request, access: OrgAccess, membership_id: int):
    try:
        removed = services.membership_remove(
            organization=access.organization,
            membership_id=membership_id,
            actor=Actor.for_request(request),
        )
    except DomainError as error:
        return _refused(request, access, error)
    messages.success(request, f"Removed {removed.user.email} from {access.organization.name}.")
    if request.htmx:
        # The row swaps out; the member counter updates out of band.
        response = render(
            request,
            f"{PAGE}#member-count",
            {"member_total": member_count(access.organization), "oob": True},
        )
        return trigger_client_event(response, "closeDialog", {})
    return _back_to_list(access)


@require_POST
@org_view(Capability.VIEW_MEMBERS)
def member_leave(request, access: OrgAccess):
    name = access.organization.name
    try:
        services.membership_leave(
            organization=access.organization, actor=Actor.for_request(request)
        )
    except DomainError as error:
        return _refused(request, access, error)
    request.session.pop("last_org", None)
    messages.success(request, f"You left {name}.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("home"))
    return redirect("home")


def _invitations_section(request, access: OrgAccess, *, invite_form=None, status: int = 200):
    return render(
        request,
        f"{PAGE}#invitations-section",
        _invitations_context(request, access, invite_form=invite_form),
        status=status,
    )


@require_POST
@org_view(Capability.MANAGE_MEMBERS)
def invitation_create(request, access: OrgAccess):
    form = _invitation_form(access, request.POST)
    if form.is_valid():
        try:
            batch = services.invitations_send(
                organization=access.organization,
                emails=form.cleaned_data["emails"],
                role=form.cleaned_data["role"],
                actor=Actor.for_request(request),
                base_url=_base_url(request),
            )
        except RateLimited as error:
            return _refused(request, access, error, form)
        except DomainError as error:
            return _refused(request, access, error)
        except ValidationError as error:
            form.add_error("emails", error)
        else:
            if batch.only_unusable_addresses:
                # Nothing went out because of how the addresses are written: fix them in place.
                for _, reason in batch.refused:
                    form.add_error("emails", f"emails: {reason}")
            elif batch.refused and not batch.issued and not batch.already_members:
                return _refused(request, access, Refused(_refusals_message(batch)))
            else:
                _report_batch(request, batch, form.cleaned_data["role"])
                if request.htmx:
                    return _invitations_section(request, access)
                return _back_to_list(access)
    if request.htmx:
        return _invitations_section(request, access, invite_form=form)
    return render(request, PAGE, _page_context(request, access, invite_form=form), status=400)


def _report_batch(request, batch: services.InvitationBatch, role: Role) -> None:
    sent = [item.invitation.email for item in batch.issued]
    if sent:
        who = sent[0] if len(sent) == 1 else f"{len(sent)} people"
        messages.success(request, f"Invited {who} as {Role(role).label}.")
    if batch.already_members:
        messages.info(
            request, f"Already a member, not invited: {', '.join(batch.already_members)}."
        )
    if batch.refused:
        messages.error(request, _refusals_message(batch))


def _refusals_message(batch: services.InvitationBatch) -> str:
    return " ".join(f"Not invited: {reason}" for _, reason in batch.refused)


def _invitation_action(request, access: OrgAccess, action, success_message):
    try:
        invitation = action()
    except DomainError as error:
        return _refused(request, access, error)
    messages.success(request, success_message(invitation))
    if request.htmx:
        return _invitations_section(request, access)
    url = reverse("members:list", kwargs={"slug": access.organization.slug})
    return redirect(f"{url}{_pending_query(_invitations_cursor(request))}#invitations")


@require_POST
@org_view(Capability.MANAGE_MEMBERS)
def invitation_resend(request, access: OrgAccess, invitation_id: int):
    return _invitation_action(
        request,
        access,
        lambda: (
            services.invitation_resend(
                organization=access.organization,
                invitation_id=invitation_id,
                actor=Actor.for_request(request),
                base_url=_base_url(request),
            ).invitation
        ),
        lambda invitation: f"Sent a new invitation link to {invitation.email}.",
    )


@require_POST
@org_view(Capability.MANAGE_MEMBERS)
def invitation_revoke(request, access: OrgAccess, invitation_id: int):
    return _invitation_action(
        request,
        access,
        lambda: services.invitation_revoke(
            organization=access.organization,
            invitation_id=invitation_id,
            actor=Actor.for_request(request),
        ),
        lambda invitation: f"Revoked the invitation to {invitation.email}.",
    )


# --- /invitations/<token>/: the invitee's side ----------------------------------------------

_REFUSAL_STATUS = {
    InvitationUnusable.NOT_FOUND: 404,
    InvitationUnusable.WRONG_ACCOUNT: 403,
    InvitationUnusable.NO_LONGER_VALID: 403,
}


def _invitation_page(request, token: str, *, invitation, refusal=None, already_member=False):
    status = _REFUSAL_STATUS.get(refusal.reason, 410) if refusal else 200
    if refusal and refusal.reason == InvitationUnusable.NOT_FOUND:
        invitation = None
    return render(
        request,
        "members/invitation.html",
        {
            "token": token,
            "invitation": invitation,
            "refusal": refusal,
            "already_member": already_member,
            "account_exists": invitation is not None
            and not request.user.is_authenticated
            and User.objects.filter(email=invitation.email).exists(),
            "detail_url": reverse("invitations:detail", kwargs={"token": token}),
        },
        status=status,
    )


@never_cache
def invitation_detail(request, token: str):
    """Shows the invitation; a GET never changes anything (Accept is a POST)."""
    invitation = selectors.invitation_for_token(token)
    already_member = bool(
        invitation
        and request.user.is_authenticated
        and Membership.objects.filter(
            organization=invitation.organization, user=request.user
        ).exists()
    )
    refusal = selectors.invitation_refusal(
        invitation, user=request.user, already_member=already_member
    )
    if (
        refusal is not None
        and refusal.reason == InvitationUnusable.ACCEPTED
        and already_member
        and invitation.accepted_by_id == request.user.pk
    ):
        messages.info(request, f"You already joined {invitation.organization.name}.")
        return redirect(invitation.organization)
    return _invitation_page(
        request, token, invitation=invitation, refusal=refusal, already_member=already_member
    )


@require_POST
@never_cache
def invitation_accept(request, token: str):
    detail_url = reverse("invitations:detail", kwargs={"token": token})
    if not request.user.is_authenticated:
        return redirect_to_login(detail_url)
    try:
        acceptance = services.invitation_accept(token=token, actor=Actor.for_request(request))
    except InvitationUnusable as refusal:
        return _invitation_page(
            request, token, invitation=selectors.invitation_for_token(token), refusal=refusal
        )
    membership = acceptance.membership
    if acceptance.already_member:
        request.session["last_org"] = membership.organization.slug
        messages.info(
            request,
            f"You were already a member of {membership.organization.name} "
            f"({membership.get_role_display()}); your role is unchanged.",
        )
        return redirect(membership.organization)
    return _joined(request, membership)


def _joined(request, membership: Membership):
    """The new member lands in the org's overview, told where they are and as what."""
    organization = membership.organization
    request.session["last_org"] = organization.slug
    messages.success(request, f"You joined {organization.name} as {membership.get_role_display()}.")
    return redirect(organization)


@sensitive_post_parameters("password")
@never_cache
def invitation_signup(request, token: str):
    """Sign up as the invited address (fixed): the account is created, signed in and joins the
    org in one step, landing in its overview."""
    detail_url = reverse("invitations:detail", kwargs={"token": token})
    if request.user.is_authenticated:
        return redirect(detail_url)
    invitation = selectors.invitation_for_token(token)
    refusal = selectors.invitation_refusal(invitation, user=request.user)
    if refusal is not None:
        return _invitation_page(request, token, invitation=invitation, refusal=refusal)
    if User.objects.filter(email=invitation.email).exists():
        messages.info(request, f"{invitation.email} already has an account: sign in to accept.")
        return redirect_to_login(detail_url)
    form = InvitationSignupForm(
        request.POST if request.method == "POST" else None, email=invitation.email
    )
    if request.method == "POST" and form.is_valid():
        try:
            acceptance = services.account_create_and_join(
                token=token,
                invitation=invitation,
                password=form.cleaned_data["password"],
                display_name=form.cleaned_data["display_name"],
                ip_address=client_ip(request),
            )
        except Conflict:
            messages.info(request, f"{invitation.email} already has an account: sign in to accept.")
            return redirect_to_login(detail_url)
        except InvitationUnusable as refusal:
            return _invitation_page(request, token, invitation=invitation, refusal=refusal)
        login(
            request,
            acceptance.membership.user,
            backend="django.contrib.auth.backends.ModelBackend",
        )
        return _joined(request, acceptance.membership)
    return render(
        request,
        "members/invitation_signup.html",
        {"form": form, "invitation": invitation, "detail_url": detail_url},
        status=400 if form.is_bound else 200,
    )
