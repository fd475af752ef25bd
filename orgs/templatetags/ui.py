"""Page-chrome template tags: vendored Lucide icons inlined; the side-menu entry that is current."""

import functools
import re

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

ICON_DIR = settings.BASE_DIR / "static" / "vendor" / "lucide-static-1.62.0" / "icons"
_ICON_NAME = re.compile(r"^[a-z0-9-]+$")
_SVG_OPEN = re.compile(r"<svg\b[^>]*>", re.S)


@functools.cache
def _icon_body(name: str) -> str:
    """The icon's shapes, without its <svg> element and licence comment (read once per process)."""
    if not _ICON_NAME.match(name):
        raise template.TemplateSyntaxError(f"icon: {name!r} is not an icon name")
    path = ICON_DIR / f"{name}.svg"
    if not path.is_file():
        raise template.TemplateSyntaxError(
            f"icon: no {name}.svg in {ICON_DIR}; copy it from the same lucide-static version"
        )
    text = path.read_text()
    match = _SVG_OPEN.search(text)
    return text[match.end() : text.rindex("</svg>")].strip()


@register.simple_tag
def icon(name: str, css_class: str = "") -> str:
    """An inline SVG icon, hidden from screen readers: the text or aria-label beside it speaks."""
    classes = f"icon {css_class}".strip()
    return format_html(
        '<svg class="{}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" '
        'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" '
        'aria-hidden="true" focusable="false">{}</svg>',
        classes,
        mark_safe(_icon_body(name)),  # noqa: S308 - our vendored file, not user input
    )


# Side-menu entry of each page, by URL namespace (and, in `orgs`, by URL name): a key's detail
# page keeps "API keys" current, a config version keeps "Organization" current.
_NAV_BY_NAMESPACE = {
    "logs": "logs",
    "analytics": "analytics",
    "budget_alerts": "alerts",
    "members": "members",
    "keys": "keys",
}
_NAV_BY_ORGS_NAME = {"overview": "overview", "audit": "audit"}


@register.simple_tag(takes_context=True)
def nav_section(context) -> str:
    """The side-menu entry the current page belongs to ("" when none)."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    namespace = match.namespaces[0] if match.namespaces else ""
    if namespace == "orgs":
        return _NAV_BY_ORGS_NAME.get(match.url_name, "settings")
    return _NAV_BY_NAMESPACE.get(namespace, "")
