"""Organization pages: home, list, create, overview, Settings > Organization (general, config
sections, providers, JSON, billing, history, danger zone) and the audit log."""

import json
from datetime import UTC
from functools import cached_property

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from orgs import audit_format, selectors, services
from orgs.access import OrgAccess, org_view
from orgs.config_diff import document_changes
from orgs.config_schema import ConfigInvalid, StoredSecret, masked_document
from orgs.errors import ConfigConflict
from orgs.forms import (
    SECTION_FORMS,
    AuditFilterForm,
    BillingForm,
    ConfigDocumentForm,
    OrganizationDeleteForm,
    OrganizationNameForm,
    ProviderForm,
    VersionForm,
)
from orgs.models import CONFIG_SECTION_LABELS, Membership
from orgs.roles import Capability, refusal_sentence
from prism_site.actor import Actor
from prism_site.csv_export import line_writer, spreadsheet_safe
from prism_site.errors import NotFound, Refused
from prism_site.timezones import zone_label


@login_required
def home(request):
    """Where signing in lands (without `next`): the org used last, the only org of someone who
    belongs to one (nothing to choose from), else the list."""
    last = request.session.get("last_org")
    if last and Membership.objects.filter(user=request.user, organization__slug=last).exists():
        return redirect("orgs:overview", slug=last)
    slugs = list(
        Membership.objects.filter(user=request.user).values_list("organization__slug", flat=True)[
            :2
        ]
    )
    if len(slugs) == 1:
        return redirect("orgs:overview", slug=slugs[0])
    return organization_list(request)


@login_required
def organization_list(request):
    """Every org the user belongs to, by name, a page at a time; the switcher shows recent ones."""
    # A name is at most 100 characters; NUL can be in no name (and PostgreSQL refuses it).
    search = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    page = selectors.user_organizations_page(
        request.user, search=search, cursor=request.GET.get("cursor")
    )
    return render(
        request,
        "orgs/list.html",
        {"form": OrganizationNameForm(), "page": page, "search": search},
    )


@login_required
def organization_new(request):
    form = OrganizationNameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = services.organization_create(
            name=form.cleaned_data["name"], actor=Actor.for_request(request)
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


SECTION_LABELS = {
    "general": "General",
    **CONFIG_SECTION_LABELS,
    "billing": "Billing",
    "json": "Config document",
}
# The in-place pieces of the page an htmx request may ask for (`?section=` or `?edit=`).
PARTIALS = {*SECTION_LABELS, "history"} - {"document"}
HISTORY_ON_PAGE = 5


class SettingsPage:
    """What the Settings > Organization template reads; each part is queried only when read."""

    def __init__(self, access: OrgAccess):
        self.access = access

    @cached_property
    def current(self) -> selectors.CurrentConfig:
        return selectors.config_current(self.access.organization)

    @property
    def config(self):
        return self.current.config

    @property
    def number(self) -> int:
        return self.current.number

    @cached_property
    def masked_json(self) -> str:
        return json.dumps(masked_document(self.config), indent=2, ensure_ascii=False)

    @cached_property
    def history(self):
        return selectors.config_history(self.access.organization, size=HISTORY_ON_PAGE).rows

    @property
    def stored_masks(self) -> set[str]:
        return {
            p.api_key.masked for p in self.config.providers if isinstance(p.api_key, StoredSecret)
        }

    def can_edit(self, section: str) -> bool:
        if section in ("general", "billing"):
            return self.access.can(Capability.MANAGE_ORGANIZATION)
        return self.access.can(Capability.CHANGE_CONFIG)


def _settings_context(access: OrgAccess, **overrides):
    context = {
        "page": SettingsPage(access),
        "name_form": OrganizationNameForm(initial={"name": access.organization.name}),
        "delete_form": OrganizationDeleteForm(organization=access.organization),
        "editing": None,
        "section_labels": SECTION_LABELS,
    }
    context.update(overrides)
    return context


def _render_settings(request, access: OrgAccess, *, section: str | None, status=200, oob=(), **ctx):
    """The one section for htmx (with out-of-band refreshes), the whole page otherwise."""
    context = _settings_context(access, **ctx)
    if request.htmx and section in PARTIALS:
        html = render_to_string(f"orgs/settings.html#{section}-section", context, request)
        for extra in oob:
            html += render_to_string(
                f"orgs/settings.html#{extra}", {**context, "oob": True}, request
            )
        # htmx swaps only 2xx answers; errors are part of the swapped form.
        return HttpResponse(html)
    return render(request, "orgs/settings.html", context, status=status)


def _settings_url(access: OrgAccess, section: str | None = None) -> str:
    url = reverse("orgs:settings", args=[access.organization.slug])
    return f"{url}#section-{section}" if section else url


def _edit_form(page: SettingsPage, section: str, request):
    """The unbound form that opens when a person clicks Edit on `section`."""
    base = {"base_version": page.number}
    if section in SECTION_FORMS:
        form_class = SECTION_FORMS[section]
        return form_class(initial={**form_class.initial_from(page.config), **base})
    if section == "providers":
        name = request.GET.get("provider") or None
        provider = page.config.provider(name) if name else None
        if name and provider is None:
            return None
        return ProviderForm(
            initial={**ProviderForm.initial_from(provider), **base},
            stored_key_mask=provider.api_key.masked
            if provider and isinstance(provider.api_key, StoredSecret)
            else None,
        )
    if section == "json":
        return ConfigDocumentForm(initial={"document": page.masked_json, **base})
    if section == "billing":
        return BillingForm(initial={"billing_email": page.access.organization.billing_email})
    return None


@org_view(Capability.VIEW_CONFIG)
def settings_organization(request, access: OrgAccess):
    """Each section shows its values; `?edit=<section>` opens its form (in place with htmx)."""
    page = SettingsPage(access)
    editing = request.GET.get("edit") or None
    section = editing or request.GET.get("section") or None
    if section == "billing" and not access.can(Capability.MANAGE_ORGANIZATION):
        raise Refused(
            refusal_sentence(access.role, Capability.MANAGE_ORGANIZATION),
            capability=Capability.MANAGE_ORGANIZATION.value,
        )
    if editing and (editing not in PARTIALS or not page.can_edit(editing)):
        editing = None
    form = _edit_form(page, editing, request) if editing and editing != "general" else None
    if editing not in (None, "general") and form is None:
        editing = None
    context = {"page": page, "editing": editing, "form": form}
    if editing == "billing":
        context["billing_form"] = form
    if editing == "json":
        context["json_text"] = page.masked_json
    if request.htmx and section in PARTIALS:
        return _render_settings(request, access, section=section, **context)
    return _render_settings(request, access, section=None, **context)


def _merged_note(merged: services.Merged) -> str:
    """ ", merged with version 2 by ada@… (kept their caching.max_entries)" for the toast."""
    first, last = merged.versions[0].number, merged.versions[-1].number
    versions = f"version {first}" if first == last else f"versions {first}–{last}"
    note = f" Merged with {versions} by {', '.join(merged.authors)}, saved meanwhile"
    if merged.taken:
        shown = ", ".join(merged.taken[:5]) + (", …" if len(merged.taken) > 5 else "")
        note += f": kept their {shown}"
    return note + "."


def _saved(request, access: OrgAccess, section: str, version, previous: int):
    """After a successful save: toast, refreshed section, history and JSON (or a redirect)."""
    label = SECTION_LABELS.get(section, section)
    merged = getattr(version, "merged", None)
    if version is None:
        current = selectors.config_current(access.organization).number
        messages.info(request, f"Nothing changed; the config is still version {current}.")
    elif merged is not None and merged.versions:
        messages.success(
            request, f"Saved {label.lower()} as version {version.number}.{_merged_note(merged)}"
        )
        # Other open forms still on the older base must merge with the versions in between
        # too, so only forms on the version just replaced move on.
        previous = version.number - 1
    else:
        messages.success(request, f"Saved {label.lower()} as version {version.number}.")
    for note in getattr(version, "host_notes", ()):
        messages.warning(request, note)
    if not request.htmx:
        return redirect(_settings_url(access, section))
    response = _render_settings(
        request, access, section=section, oob=("history-section", "json-read", "version-section")
    )
    if version is not None:
        # Other open section forms started from `previous`: move them to the new version.
        trigger_client_event(
            response, "configSaved", {"version": version.number, "previous": previous}
        )
    return response


def _save_config(request, access: OrgAccess, *, section: str, form, make_form, save):
    """Validate the form, call the service, and answer with the section (errors in place)."""
    partial = "json" if section == "document" else section
    context = {"editing": partial}
    if form.is_valid():
        try:
            version = save(form)
        except ConfigInvalid as invalid:
            form.add_config_errors(invalid.problems)
        except ConfigConflict as conflict:
            # Keep what the person typed, moved onto the current version: fields only the
            # others changed show their values, fields both changed are marked with both.
            data = request.POST.copy()
            data["base_version"] = str(conflict.current_version)
            current = selectors.config_current(access.organization).config
            theirs = _current_initial(form, current) if conflict.taken or conflict.fields else {}
            for location in conflict.taken:
                name = _field_at(form, location)
                if name in theirs:
                    _put(data, form.fields[name], name, theirs[name])
            notes = {
                name: _merge_note(form, name, field, data, theirs)
                for field in conflict.fields
                if (name := _field_at(form, field.location))
            }
            form = make_form(data)
            form.is_valid()
            for name, note in notes.items():
                form[name].merge_note = note
            messages.error(request, "Not saved: someone else changed the config meanwhile.")
            context.update(form=form, conflict=conflict)
            if partial == "json":
                context["json_text"] = form.safe_text(SettingsPage(access).stored_masks)
            return _render_settings(
                request,
                access,
                section=partial,
                status=409,
                oob=("history-section", "version-section"),
                **context,
            )
        else:
            return _saved(request, access, partial, version, form.cleaned_data["base_version"])
    context["form"] = form
    if partial == "json":
        context["json_text"] = form.safe_text(SettingsPage(access).stored_masks)
    return _render_settings(request, access, section=partial, status=400, **context)


def _current_initial(form, config) -> dict:
    """The form's fields as they would open on `config` now."""
    if isinstance(form, ProviderForm):
        provider = config.provider(form.data.get("original_name") or "")
        return ProviderForm.initial_from(provider) if provider else {}
    return form.initial_from(config) if hasattr(form, "initial_from") else {}


def _field_at(form, location: str) -> str | None:
    """The form field that edits config path `location` (errors are named by the same path)."""
    for name in form.fields:
        if name not in ("base_version", "message") and form.error_path(name) == location:
            return name
    return None


def _put(data, field, name: str, value) -> None:
    """Set a field of submitted form data to a value as the form shows it (never a key field:
    blank there keeps the current key)."""
    if isinstance(field.widget, forms.PasswordInput):
        return
    if isinstance(field, forms.BooleanField):
        if value:
            data[name] = "on"
        else:
            data.pop(name, None)
    else:
        data[name] = "" if value is None else str(value)


def _merge_note(form, name: str, field, data, theirs: dict) -> dict:
    """Both values of a field both sides changed, as the person reads them in the form."""
    widget = form.fields[name]
    if isinstance(widget, forms.BooleanField):
        yours, shown = ("On" if data.get(name) else "Off"), ("On" if theirs.get(name) else "Off")
        value = "on" if theirs.get(name) else ""
    elif isinstance(widget.widget, forms.PasswordInput):
        yours = "a new key (not shown)" if data.get(name) else "remove the key"
        shown, value = field.theirs or "none", None
    else:
        yours, shown = data.get(name, ""), theirs.get(name, "")
        value = "" if shown is None else str(shown)
    return {
        "yours": yours or "(blank)",
        "theirs": shown if shown not in ("", None) else "(blank)",
        "value": value,
        "version": field.version,
        "author": field.author,
        "secret": isinstance(widget.widget, forms.PasswordInput),
    }


@require_POST
@org_view(Capability.CHANGE_CONFIG)
def config_section(request, access: OrgAccess, section: str):
    if section not in SECTION_FORMS:
        raise NotFound("No such config section.")
    form_class = SECTION_FORMS[section]
    return _save_config(
        request,
        access,
        section=section,
        form=form_class(request.POST),
        make_form=form_class,
        save=lambda form: services.config_section_update(
            organization=access.organization,
            actor=Actor.for_request(request),
            base_version=form.cleaned_data["base_version"],
            section=section,
            values=form.values(),
            message=form.cleaned_data["message"],
            merge=True,
        ),
    )


@sensitive_post_parameters("api_key")
@require_POST
@org_view(Capability.CHANGE_CONFIG)
@sensitive_variables()
def provider_save(request, access: OrgAccess):
    original = request.POST.get("original_name") or None
    existing = SettingsPage(access).config.provider(original) if original else None

    def make_form(data):
        return ProviderForm(
            data,
            stored_key_mask=existing.api_key.masked
            if existing and isinstance(existing.api_key, StoredSecret)
            else None,
        )

    return _save_config(
        request,
        access,
        section="providers",
        form=make_form(request.POST),
        make_form=make_form,
        save=lambda form: services.config_provider_save(
            organization=access.organization,
            actor=Actor.for_request(request),
            base_version=form.cleaned_data["base_version"],
            original_name=form.cleaned_data["original_name"] or None,
            values=form.values(),
            remove_key=form.cleaned_data.get("remove_key", False),
            message=form.cleaned_data["message"],
            merge=True,
        ),
    )


def _provider_action(request, access: OrgAccess, save):
    form = VersionForm(request.POST)
    version, previous = None, None
    if not form.is_valid():
        messages.error(request, form.errors["base_version"][0])
    else:
        previous = form.cleaned_data["base_version"]
        try:
            version = save(previous)
        except (ConfigInvalid, ConfigConflict) as refused:
            messages.error(request, f"Not saved. {refused}")
            previous = None
    if previous is None:
        if request.htmx:
            return _render_settings(request, access, section="providers", oob=("history-section",))
        return redirect(_settings_url(access, "providers"))
    return _saved(request, access, "providers", version, previous)


@require_POST
@org_view(Capability.CHANGE_CONFIG)
def provider_toggle(request, access: OrgAccess, name: str):
    enable = request.POST.get("enabled") == "true"
    return _provider_action(
        request,
        access,
        lambda base: services.config_provider_toggle(
            organization=access.organization,
            actor=Actor.for_request(request),
            base_version=base,
            name=name,
            enabled=enable,
        ),
    )


@require_POST
@org_view(Capability.CHANGE_CONFIG)
def provider_remove(request, access: OrgAccess, name: str):
    return _provider_action(
        request,
        access,
        lambda base: services.config_provider_remove(
            organization=access.organization,
            actor=Actor.for_request(request),
            base_version=base,
            name=name,
        ),
    )


@sensitive_post_parameters("document")
@require_POST
@org_view(Capability.CHANGE_CONFIG)
@sensitive_variables()
def config_document_edit(request, access: OrgAccess):
    return _save_config(
        request,
        access,
        section="document",
        form=ConfigDocumentForm(request.POST),
        make_form=ConfigDocumentForm,
        save=lambda form: services.config_save(
            organization=access.organization,
            actor=Actor.for_request(request),
            base_version=form.cleaned_data["base_version"],
            document=form.values(),
            message=form.cleaned_data["message"],
        ),
    )


@org_view(Capability.VIEW_CONFIG)
def config_document(request, access: OrgAccess):
    """The current document as JSON, provider keys masked."""
    current = selectors.config_current(access.organization)
    response = JsonResponse(
        {
            "organization": access.organization.slug,
            "version": current.number,
            "updated_at": current.version.created_at.isoformat() if current.version else None,
            "updated_by": current.version.author_email if current.version else None,
            "config": masked_document(current.config),
        },
        json_dumps_params={"indent": 2, "ensure_ascii": False},
    )
    response["Content-Disposition"] = (
        f'inline; filename="{access.organization.slug}-config-v{current.number}.json"'
    )
    return response


@org_view(Capability.VIEW_CONFIG)
def config_history(request, access: OrgAccess):
    page = selectors.config_history(access.organization, cursor=request.GET.get("cursor"))
    return render(
        request,
        "orgs/config_history.html",
        {
            "page": SettingsPage(access),
            "history": page,
            "entries": page.rows,
            "section_labels": SECTION_LABELS,
        },
    )


@org_view(Capability.VIEW_CONFIG)
def config_version(request, access: OrgAccess, number: int):
    version = selectors.config_version_get(access.organization, number)
    if version is None:
        raise NotFound(f"Version {number} is not a saved version of this config.")
    previous = selectors.config_version_get(access.organization, number - 1) if number > 1 else None
    config = selectors.parse_stored(version.document)
    changes = (
        document_changes(previous.document if previous else None, version.document)
        if number > 1
        else []
    )
    return render(
        request,
        "orgs/config_version.html",
        {
            "page": SettingsPage(access),
            "version": version,
            "changes": changes,
            "lines": audit_format.config_lines(changes, request.time_zone),
            "masked_json": json.dumps(masked_document(config), indent=2, ensure_ascii=False),
            "section_labels": SECTION_LABELS,
        },
    )


@require_POST
@org_view(Capability.CHANGE_CONFIG)
def config_restore(request, access: OrgAccess, number: int):
    form = VersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["base_version"][0])
    else:
        try:
            version = services.config_restore(
                organization=access.organization,
                actor=Actor.for_request(request),
                base_version=form.cleaned_data["base_version"],
                number=number,
            )
        except (ConfigInvalid, ConfigConflict) as refused:
            messages.error(request, f"Not restored. {refused}")
        else:
            if version is None:
                messages.info(request, f"Version {number} is already the current config.")
            else:
                messages.success(request, f"Restored version {number} as version {version.number}.")
    if request.htmx:
        # Every section may have changed: load the page the person is on (settings or history)
        # again. Without its #fragment, so the browser really navigates.
        current = (request.htmx.current_url_abs_path or "").split("#")[0]
        return HttpResponseClientRedirect(current or _settings_url(access))
    return redirect(_settings_url(access, "history"))


@require_POST
@org_view(Capability.MANAGE_ORGANIZATION)
def billing_update(request, access: OrgAccess):
    form = BillingForm(request.POST)
    if not form.is_valid():
        return _render_settings(
            request, access, section="billing", status=400, editing="billing", billing_form=form
        )
    services.organization_billing_update(
        organization=access.organization,
        billing_email=form.cleaned_data["billing_email"],
        actor=Actor.for_request(request),
    )
    messages.success(request, "Saved the billing contact.")
    if request.htmx:
        return _render_settings(request, access, section="billing")
    return redirect(_settings_url(access, "billing"))


@require_POST
@org_view(Capability.MANAGE_ORGANIZATION)
def organization_rename(request, access: OrgAccess):
    form = OrganizationNameForm(request.POST)
    if not form.is_valid():
        return _render_settings(
            request, access, section="general", status=400, name_form=form, editing="general"
        )
    services.organization_rename(
        organization=access.organization,
        name=form.cleaned_data["name"],
        actor=Actor.for_request(request),
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
    services.organization_delete(organization=access.organization, actor=Actor.for_request(request))
    request.session.pop("last_org", None)
    messages.success(request, f"Deleted {name} and everything in it.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("home"))
    return redirect("home")


# -- Audit log -----------------------------------------------------------------------------------

# A batch of the export: its config events' versions are read in one query.
AUDIT_EXPORT_BATCH = 500
AUDIT_EXPORT_COLUMNS = (
    "time_utc",
    "time_local",
    "actor",
    "via",
    "action",
    "action_label",
    "target",
    "ip_address",
    "changes",
)


def _audit_form(request) -> AuditFilterForm:
    return AuditFilterForm(
        request.GET, zone=request.time_zone, action_labels=audit_format.ACTION_LABELS
    )


def _audit_entries(organization, events, zone) -> list[audit_format.Entry]:
    """The events dressed for reading: one query reads every config event's versions."""
    changes = selectors.audit_config_changes(organization, events)
    return [
        audit_format.entry(event, zone, config_changes=changes.get(event.pk)) for event in events
    ]


@org_view(Capability.VIEW_AUDIT)
def audit_log(request, access: OrgAccess):
    form = _audit_form(request)
    page = entries = None
    if form.is_valid():
        page = selectors.audit_page(
            access.organization,
            cursor=request.GET.get(selectors.AUDIT_ORDER.param),
            audit_filter=selectors.AuditFilter(**form.audit_filter()),
        )
        entries = _audit_entries(access.organization, page.rows, request.time_zone)
    context = {
        "filters": form,
        "page": page,
        "entries": entries,
        "filtered": form.chosen,
        "time_zone_label": zone_label(request.time_zone),
    }
    # Bad filters still answer 200: htmx swaps only successful answers, and the table says
    # which field to fix.
    if request.htmx and not request.htmx.boosted:
        return render(request, "orgs/audit.html#audit-table", context)
    return render(request, "orgs/audit.html", context)


def _csv_cell(value) -> str:
    return spreadsheet_safe("" if value is None else str(value))


@org_view(Capability.VIEW_AUDIT)
def audit_export(request, access: OrgAccess):
    """The filtered log as CSV, newest first, values as the page shows them, streamed."""
    form = _audit_form(request)
    if not form.is_valid():
        context = {
            "filters": form,
            "page": None,
            "entries": None,
            "filtered": True,
            "time_zone_label": zone_label(request.time_zone),
        }
        return render(request, "orgs/audit.html", context, status=400)
    organization, zone = access.organization, request.time_zone
    events = selectors.audit_events(
        organization, selectors.AuditFilter(**form.audit_filter())
    ).order_by(*selectors.AUDIT_ORDER.ordering)
    writer = line_writer()

    def rows(batch):
        for entry in _audit_entries(organization, batch, zone):
            event = entry.event
            yield writer.writerow(
                [
                    _csv_cell(value)
                    for value in (
                        event.created_at.astimezone(UTC).isoformat(),
                        audit_format.exact_time(event.created_at, zone),
                        entry.actor,
                        entry.via,
                        event.action,
                        entry.action_label,
                        event.target,
                        event.ip_address,
                        entry.summary,
                    )
                ]
            )

    def lines():
        yield writer.writerow(AUDIT_EXPORT_COLUMNS)
        batch = []
        for event in events.iterator(chunk_size=AUDIT_EXPORT_BATCH):
            batch.append(event)
            if len(batch) == AUDIT_EXPORT_BATCH:
                yield from rows(batch)
                batch = []
        yield from rows(batch)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="prism-audit-{organization.slug}.csv"'
    return response
