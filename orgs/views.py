"""Organization pages: home, list, create, overview, Settings > Organization (general, danger
zone) and the audit log."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from members.login_throttle import client_ip
from members.models import Membership
from orgs import selectors, services
from orgs.access import OrgAccess, org_view
from orgs.forms import OrganizationDeleteForm, OrganizationNameForm
from orgs.roles import Capability


@login_required
def home(request):
    last = request.session.get("last_org")
    if last and Membership.objects.filter(user=request.user, organization__slug=last).exists():
        return redirect("orgs:overview", slug=last)
    return organization_list(request)


@login_required
def organization_list(request):
    return render(request, "orgs/list.html", {"form": OrganizationNameForm()})


@login_required
def organization_new(request):
    form = OrganizationNameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = services.organization_create(
            name=form.cleaned_data["name"], creator=request.user, ip_address=client_ip(request)
        )
        messages.success(request, f"Created {organization.name}. You are its Owner.")
        return redirect(organization)
    return render(request, "orgs/new.html", {"form": form})


@org_view(Capability.VIEW_OVERVIEW)
def overview(request, access: OrgAccess):
    return render(
        request,
        "orgs/overview.html",
        {"member_count": selectors.member_count(access.organization)},
    )


def _settings_context(access: OrgAccess, **overrides):
    context = {
        "name_form": OrganizationNameForm(initial={"name": access.organization.name}),
        "delete_form": OrganizationDeleteForm(organization=access.organization),
        "editing": None,
    }
    context.update(overrides)
    return context


@org_view(Capability.VIEW_CONFIG)
def settings_organization(request, access: OrgAccess):
    """Each section shows its values; `?edit=<section>` opens its form (in place with htmx)."""
    editing = request.GET.get("edit") or None
    if editing == "general" and not access.can(Capability.MANAGE_ORGANIZATION):
        editing = None
    context = _settings_context(access, editing=editing)
    if request.htmx and "edit" in request.GET:
        return render(request, "orgs/settings.html#general-section", context)
    return render(request, "orgs/settings.html", context)


@require_POST
@org_view(Capability.MANAGE_ORGANIZATION)
def organization_rename(request, access: OrgAccess):
    form = OrganizationNameForm(request.POST)
    if not form.is_valid():
        context = _settings_context(access, name_form=form, editing="general")
        if request.htmx:
            return render(request, "orgs/settings.html#general-section", context)
        return render(request, "orgs/settings.html", context, status=400)
    services.organization_rename(
        organization=access.organization,
        name=form.cleaned_data["name"],
        actor=request.user,
        ip_address=client_ip(request),
    )
    messages.success(request, f"Renamed to {access.organization.name}.")
    if request.htmx:
        # The name shows in the header and switcher too, so reload the whole page.
        return HttpResponseClientRedirect(reverse("orgs:settings", args=[access.organization.slug]))
    return redirect("orgs:settings", slug=access.organization.slug)


@require_POST
@org_view(Capability.MANAGE_ORGANIZATION)
def organization_delete(request, access: OrgAccess):
    form = OrganizationDeleteForm(request.POST, organization=access.organization)
    if not form.is_valid():
        context = _settings_context(access, delete_form=form)
        if request.htmx:
            return render(request, "orgs/settings.html#delete-form", context)
        return render(request, "orgs/settings.html", context, status=400)
    name = access.organization.name
    services.organization_delete(organization=access.organization, actor=request.user)
    request.session.pop("last_org", None)
    messages.success(request, f"Deleted {name} and everything in it.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("home"))
    return redirect("home")


@org_view(Capability.VIEW_AUDIT)
def audit_log(request, access: OrgAccess):
    try:
        before_id = int(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before_id = None
    events, next_before = selectors.audit_page(access.organization, before_id=before_id)
    return render(
        request,
        "orgs/audit.html",
        {"events": events, "next_before": next_before, "is_first_page": before_id is None},
    )
