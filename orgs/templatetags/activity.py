"""Template tags of the audit log and config history: typed values and before → after lines,
formatted by orgs.audit_format (their times use the site's one `relative_time` tag)."""

from django import template
from django.utils.html import format_html, format_html_join

from orgs.audit_format import Line, Shown

register = template.Library()


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
