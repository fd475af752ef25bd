"""A small crawler for the fuzz test: the pages, links and forms each role is shown.

It reads the HTML the dashboard renders (links, htmx `hx-get`/`hx-post` targets and every form
field with its default value), so the fuzz test covers every form a person can submit without a
hand-kept list that drifts from the templates.
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

# Never followed or submitted while crawling: they end the session or leave the dashboard.
SKIP_PREFIXES = ("/static/", "/admin/", "/accounts/logout/")


# What an empty required field is given in the default submission, so that one bad field at a
# time is the only thing wrong and the rest of the form gets as far as the database.
PLAUSIBLE = {
    "email": "fuzz@example.test",
    "password": "Fuzz-password-2026",
    "number": "1",
    "url": "https://api.example.com/v1",
    "text": "fuzz",
    "search": "fuzz",
    "textarea": "fuzz",
}


def plausible(name: str, kind: str) -> str:
    if "email" in name:
        return PLAUSIBLE["email"]
    return PLAUSIBLE.get(kind, "")


@dataclass
class Form:
    method: str
    action: str  # path with query, resolved against the page it was on
    htmx: bool
    page: str = ""  # the page the form was found on
    # (name, default value) in document order; a name may repeat (checkbox groups).
    fields: list[tuple[str, str]] = field(default_factory=list)
    # Every value a select, radio or checkbox group offers, by name.
    choices: dict[str, list[str]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(name for name, _ in self.fields))

    @property
    def key(self) -> tuple:
        return (self.method, urlsplit(self.action).path, tuple(sorted(self.names)))


class _PageParser(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.links: set[str] = set()
        self.htmx_links: set[str] = set()
        self.forms: list[Form] = []
        self.ids: set[str] = set()
        # Ids that labels and ARIA attributes point at: each must be an element of the page.
        self.references: set[str] = set()
        self._form: Form | None = None
        self._textarea: str | None = None
        self._textarea_required = False
        self._textarea_text: list[str] = []
        self._select: str | None = None
        self._select_options: list[tuple[str, bool]] = []
        self._option_value: str | None = None
        self._option_selected = False
        self._option_text: list[str] = []
        self._in_option = False

    def _url(self, value: str | None) -> str | None:
        if value is None or value.startswith(("#", "javascript:", "mailto:")):
            return None
        absolute = urljoin(self.page_url, value)
        parts = urlsplit(absolute)
        if parts.netloc not in ("", "testserver"):
            return None
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        for name in ("for", "aria-describedby", "aria-labelledby", "aria-controls"):
            if tag != "output" and attributes.get(name):
                self.references.update(attributes[name].split())
        if tag == "a" and (href := self._url(attributes.get("href"))):
            self.links.add(href)
        if (target := self._url(attributes.get("hx-get"))) is not None:
            self.htmx_links.add(target)
        if tag == "form" or (tag != "form" and "hx-post" in attributes and self._form is None):
            action = attributes.get("hx-post") or attributes.get("action") or ""
            method = "POST" if "hx-post" in attributes else attributes.get("method", "get").upper()
            form = Form(
                method=method,
                action=self._url(action) or self._url(self.page_url),
                htmx="hx-post" in attributes or "hx-get" in attributes,
                page=self.page_url,
            )
            if tag == "form":
                self._form = form
            self.forms.append(form)
            return
        if self._form is None:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = (attributes.get("type") or "text").lower()
            value = attributes.get("value") or ("on" if kind in ("checkbox", "radio") else "")
            if kind in ("checkbox", "radio"):
                self._form.choices.setdefault(name, []).append(value)
                if "checked" in attributes:
                    self._form.fields.append((name, value))
                elif name not in self._form.names:
                    # Unchecked: still a field to fuzz, absent from the default submission.
                    self._form.fields.append((name, ""))
            elif kind not in ("submit", "button", "reset", "image", "file"):
                if not value and "required" in attributes:
                    value = plausible(name, kind)
                self._form.fields.append((name, value))
        elif tag == "button" and name:
            self._form.fields.append((name, attributes.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea, self._textarea_text = name, []
            self._textarea_required = "required" in attributes
        elif tag == "select" and name:
            self._select, self._select_options = name, []
        elif tag == "option" and self._select:
            self._in_option = True
            self._option_value = attributes.get("value")
            self._option_selected = "selected" in attributes
            self._option_text = []

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea_text.append(data)
        if self._in_option:
            self._option_text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            text = "".join(self._textarea_text)
            if not text and self._textarea_required:
                text = plausible(self._textarea, "textarea")
            self._form.fields.append((self._textarea, text))
            self._textarea = None
        elif tag == "option" and self._in_option:
            value = self._option_value
            if value is None:
                value = "".join(self._option_text).strip()
            self._select_options.append((value, self._option_selected))
            self._in_option = False
        elif tag == "select" and self._select is not None and self._form is not None:
            values = [value for value, _ in self._select_options]
            chosen = [value for value, selected in self._select_options if selected]
            self._form.choices[self._select] = values
            self._form.fields.append((self._select, (chosen or values or [""])[0]))
            self._select = None


@dataclass
class Site:
    """What one caller was shown: pages visited (with their status) and forms found."""

    pages: dict[str, int] = field(default_factory=dict)
    forms: dict[tuple, Form] = field(default_factory=dict)
    # Query parameter names seen in links, by path.
    parameters: dict[str, set[str]] = field(default_factory=dict)
    # Full pages whose labels or ARIA attributes point at ids the page does not have.
    dangling: dict[str, set[str]] = field(default_factory=dict)


def crawl(client, seeds: list[str], *, limit: int = 250) -> Site:
    """Breadth-first over same-site links and htmx targets, from `seeds`."""
    site = Site()
    queue = [(url, False) for url in seeds]
    seen: set[tuple[str, bool]] = set()
    while queue and len(site.pages) < limit:
        url, htmx = queue.pop(0)
        if (url, htmx) in seen or url.startswith(SKIP_PREFIXES):
            continue
        seen.add((url, htmx))
        parts = urlsplit(url)
        names = {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
        site.parameters.setdefault(parts.path, set()).update(names)
        response = client.get(url, headers={"HX-Request": "true"} if htmx else {})
        site.pages[url] = response.status_code
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = _PageParser(url)
        parser.feed(response.content.decode())
        if not htmx and parser.references - parser.ids:
            site.dangling[url] = parser.references - parser.ids
        for form in parser.forms:
            site.forms.setdefault(form.key, form)
            if form.method == "GET":
                site.parameters.setdefault(urlsplit(form.action).path, set()).update(form.names)
        queue += [(link, False) for link in sorted(parser.links)]
        queue += [(link, True) for link in sorted(parser.htmx_links)]
    return site
