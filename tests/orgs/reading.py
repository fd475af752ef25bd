"""A page as a person reads it: the text without markup, spaces collapsed."""

import html
import re


def page_text(markup: str) -> str:
    without_tags = re.sub(r"<[^>]+>", " ", markup)
    return re.sub(r"\s+", " ", html.unescape(without_tags)).replace(" :", ":")
