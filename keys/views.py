"""Settings > API keys: the inventory, create (secret shown once), key detail with effective
policy and in-place edit, rotate and revoke.

Each view authorizes (org capability, then the rights on the key), validates, calls a service
and renders; htmx callers get the page's partial, everyone else the full page.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django_htmx.http import HttpResponseClientRedirect

from keys import selectors, services
from keys.forms import KeyFilterForm, KeyForm, RotateForm
from keys.permissions import EDIT, GRANT_ADMIN_SCOPE, REVOKE, ROTATE, key_rights, member_key_rights
from keys.policy import effective_policy, period_window
from orgs.access import OrgAccess, org_view
from orgs.roles import Capability
from prism_site.actor import Actor
from prism_site.error_responses import form_add_invalid
from prism_site.errors import Invalid, Refused
from prism_site.http import safe_next_path


def _key_and_rights(request, access: OrgAccess, key_id: str, now):
    key = selectors.key_in_organization(access.organization, key_id)
    rights = member_key_rights(request.user, [key], capabilities=access.permissions, now=now)
    return key, rights[key.pk]


def _one_time_secret(request, *, template: str, context: dict):
    """The only response that ever carries a secret: never cached, never stored."""
    partial = f"{template}#secret-once" if request.htmx else template
    response = render(request, partial, context)
    add_never_cache_headers(response)
    return response


@org_view(Capability.VIEW_CONFIG)
def key_list(request, access: OrgAccess):
    filters = KeyFilterForm(request.GET or None)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    now = timezone.now()
    page = selectors.key_inventory_page(
        access.organization,
        user=request.user,
        capabilities=access.permissions,
        now=now,
        status=chosen.get("status") or None,
        created_by=request.user if chosen.get("mine") else None,
        cursor=request.GET.get("cursor"),
    )
    context = {
        "page": page,
        "filters": filters if filters.is_bound else KeyFilterForm(),
        "filtered": bool(chosen.get("status") or chosen.get("mine")),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "keys/list.html#key-inventory", context)
    return render(request, "keys/list.html", context)


@org_view(Capability.CREATE_KEYS)
def key_create(request, access: OrgAccess):
    rights = key_rights(
        None, user=request.user, capabilities=access.permissions, now=timezone.now()
    )
    form = KeyForm(
        request.POST if request.method == "POST" else None,
        admin_scope_refusal=rights.refusal(GRANT_ADMIN_SCOPE),
    )
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.key_create(
                organization=access.organization,
                actor=Actor.for_request(request),
                attributes=form.attributes(),
            )
        except Invalid as error:
            form_add_invalid(form, error)
        else:
            return _one_time_secret(
                request,
                template="keys/secret.html",
                context={"issued": issued, "key": issued.key, "action": "created"},
            )
    status = 400 if request.method == "POST" and not request.htmx else 200
    if request.htmx:
        return render(request, "keys/create.html#create-form", {"form": form, "in_dialog": True})
    return render(request, "keys/create.html", {"form": form}, status=status)


def _detail_context(access: OrgAccess, key, rights, now, **overrides):
    org_limits = selectors.organization_limits(access.organization)
    policy = effective_policy(key, org_limits)
    context = {
        "key": key,
        "org_limits": org_limits,
        "status": key.status_at(now),
        "rights": rights,
        "policy": policy,
        "budget_windows": [
            (budget, *period_window(budget.period, now)) for budget in policy.budgets
        ],
        "grace_secret": selectors.key_grace_secret(key, now),
        "editing": False,
        "form": None,
    }
    context.update(overrides)
    return context


def _edit_form(key, rights, data=None) -> KeyForm:
    return KeyForm.for_key(key, data, admin_scope_refusal=rights.refusal(GRANT_ADMIN_SCOPE))


@org_view(Capability.VIEW_CONFIG)
def key_detail(request, access: OrgAccess, key_id: str):
    now = timezone.now()
    key, rights = _key_and_rights(request, access, key_id, now)
    editing = request.GET.get("edit") == "1" and rights.edit
    context = _detail_context(
        access, key, rights, now, editing=editing, form=_edit_form(key, rights) if editing else None
    )
    if request.htmx and "edit" in request.GET:
        return render(request, "keys/detail.html#key-settings", context)
    return render(request, "keys/detail.html", context)


@org_view(Capability.MANAGE_KEYS)
def key_update(request, access: OrgAccess, key_id: str):
    now = timezone.now()
    key, rights = _key_and_rights(request, access, key_id, now)
    if request.method != "POST":
        return redirect(f"{key.get_absolute_url()}?edit=1")
    if not rights.edit:
        raise Refused(rights.refusal(EDIT))
    key_status = key.status_at(now)
    form = _edit_form(key, rights, data=request.POST)
    if form.is_valid():
        try:
            saved = services.key_update(
                key=key,
                actor=Actor.for_request(request),
                attributes=form.attributes(),
                now=now,
            )
        except Invalid as error:
            form_add_invalid(form, error)
        else:
            for warning in saved.warnings:
                messages.warning(request, warning)
            messages.success(request, f"Saved {saved.key.name}.")
            if request.htmx and saved.key.status_at(now) != key_status:
                # The status shows outside the section (heading, actions): reload the page.
                return HttpResponseClientRedirect(saved.key.get_absolute_url())
            if request.htmx:
                return render(
                    request,
                    "keys/detail.html#key-settings",
                    _detail_context(access, saved.key, rights, now),
                )
            return redirect(saved.key)
    context = _detail_context(access, key, rights, now, editing=True, form=form)
    if request.htmx:
        return render(request, "keys/detail.html#key-settings", context)
    return render(request, "keys/detail.html", context, status=400)


@org_view(Capability.CREATE_KEYS)
def key_rotate(request, access: OrgAccess, key_id: str):
    now = timezone.now()
    key, rights = _key_and_rights(request, access, key_id, now)
    if not rights.rotate:
        raise Refused(rights.refusal(ROTATE))
    form = RotateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        issued = services.key_rotate(
            key=key,
            actor=Actor.for_request(request),
            grace=form.cleaned_data["grace"],
            now=now,
        )
        grace = selectors.key_grace_secret(issued.key, now)
        return _one_time_secret(
            request,
            template="keys/secret.html",
            context={
                "issued": issued,
                "key": issued.key,
                "action": "rotated",
                "grace_secret": grace,
            },
        )
    context = {"key": key, "form": form, "in_dialog": bool(request.htmx)}
    if request.htmx:
        return render(request, "keys/rotate.html#rotate-form", context)
    status = 400 if request.method == "POST" else 200
    return render(request, "keys/rotate.html", context, status=status)


def _safe_next(request, access: OrgAccess, fallback: str) -> str:
    """`next` when it is a page of this org's keys, else `fallback`."""
    target = safe_next_path(request) or ""
    keys_root = reverse("keys:list", args=[access.organization.slug])
    return target if target.startswith(keys_root) else fallback


@org_view(Capability.CREATE_KEYS)
def key_revoke(request, access: OrgAccess, key_id: str):
    now = timezone.now()
    key, rights = _key_and_rights(request, access, key_id, now)
    if not rights.revoke:
        raise Refused(rights.refusal(REVOKE))
    if request.method == "POST":
        services.key_revoke(key=key, actor=Actor.for_request(request), now=now)
        messages.success(request, f"Revoked {key.name}: its secret no longer works anywhere.")
        target = _safe_next(request, access, fallback=key.get_absolute_url())
        if request.htmx:
            return HttpResponseClientRedirect(target)
        return redirect(target)
    context = {
        "key": key,
        "next": _safe_next(request, access, fallback=key.get_absolute_url()),
        "in_dialog": bool(request.htmx),
    }
    if request.htmx:
        return render(request, "keys/revoke.html#revoke-form", context)
    return render(request, "keys/revoke.html", context)
