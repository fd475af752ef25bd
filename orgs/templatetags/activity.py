"""Template tags of the audit log and config history: typed values, before → after lines and
relative times, all formatted by orgs.audit_format."""

from datetime import UTC

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from orgs.audit_format import Line, Shown, exact_time, relative_time

register = template.Library()


@register.simple_tag(takes_context=True)
def when(context, moment):
    """ "3 min ago" in a `<time>`, the exact time in the viewer's zone on hover."""
    if moment is None:
        return ""
    request = context.get("request")
    zone = getattr(request, "time_zone", None) or timezone.get_current_timezone()
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        moment.astimezone(UTC).isoformat(),
        exact_time(moment, zone),
        relative_time(moment, timezone.now()),
    )


def _value(value: Shown):
    if value.kind == "list" and value.items:
        return format_html(
            '<span class="chips">{}</span>',
            format_html_join(
                " ", '<span class="chip">{}</span>', ((_value(item),) for item in value.items)
            ),
        )
    if value.title:
        return format_html(
            '<span class="value value-{}" title="{}">{}</span>', value.kind, value.title, value.text
        )
    return format_html('<span class="value value-{}">{}</span>', value.kind, value.text)


@register.simple_tag
def shown(value: Shown):
    return _value(value) if value is not None else ""


@register.simple_tag
def change_line(line: Line):
    """`label: before → after`, `label: added …`, `label: removed (was …)` or `label: value`."""
    # A config path (budgets.limit) reads in monospace; a field's words (Role) do not.
    kind = "change-field path" if "." in line.label and " " not in line.label else "change-field"
    label = format_html('<span class="{}">{}</span>:', kind, line.label)
    if line.note == "removed":
        return format_html(
            '{} removed <span class="muted">(was {})</span>', label, _value(line.before)
        )
    if line.note == "added":
        return format_html("{} added {}", label, _value(line.after))
    if line.changed:
        return format_html(
            '{} {} <span class="arrow">→</span> {}', label, _value(line.before), _value(line.after)
        )
    return format_html("{} {}", label, _value(line.after))
