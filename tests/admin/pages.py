"""Reading admin pages the way a leak would show: names in the text, object ids in URLs, choices and
checkboxes, each id tied to the model it is an id of (ids of different models collide)."""

from __future__ import annotations

import contextlib
import re
from html import unescape
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

ADMIN_OBJECT_URL = re.compile(r"/admin/(\w+)/(\w+)/(\d+)/")
PK_LOOKUPS = {"id", "pk", "exact", "in"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.choices: list[tuple[str, str]] = []  # (select name, option value)
        self.selected_action: list[str] = []  # the changelist's row checkboxes
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "select":
            self._select = a.get("name", "")
        elif tag == "option" and self._select is not None:
            self.choices.append((self._select, a.get("value", "")))
        elif tag == "input" and a.get("name") == "_selected_action":
            self.selected_action.append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def text(response: Response) -> str:
    """A response's page as a person reads it (entities decoded)."""
    return unescape(response.content.decode())


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def lookup_target(model: type[Model], lookup: str) -> type[Model] | None:
    """The model whose pk a filter parameter such as ``album__job__id__exact`` compares with, if any."""
    current, reached = model, None
    parts = lookup.split("__")
    for i, part in enumerate(parts):
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return reached if reached is not None and set(parts[i:]) <= PK_LOOKUPS else None
        if not field.is_relation:
            return (
                reached
                if reached is not None and getattr(field, "primary_key", False) and set(parts[i + 1 :]) <= PK_LOOKUPS
                else None
            )
        current = reached = field.related_model  # type: ignore[assignment]
    return reached


def references(html: str, model: type[Model]) -> set[tuple[str, int]]:
    """Every (model label, pk) the page points at: admin URLs anywhere in it, filter parameters, the
    choices of its selects and the changelist's row checkboxes. ``model`` is the page's own model."""
    refs: set[tuple[str, int]] = set()
    for app_label, model_name, pk in ADMIN_OBJECT_URL.findall(unescape(html)):
        with contextlib.suppress(LookupError):  # an admin URL that is not a model's (e.g. /admin/r/)
            refs.add((apps.get_model(app_label, model_name)._meta.label, int(pk)))
    page = parse(html)
    for href in page.links:
        for key, value in parse_qsl(urlsplit(href).query):
            target = lookup_target(model, key)
            if target is not None:
                refs.update((target._meta.label, int(v)) for v in value.split(",") if v.isdigit())
    for name, value in page.choices:
        target = lookup_target(model, name)
        if target is not None and value.isdigit():
            refs.add((target._meta.label, int(value)))
    refs.update((model._meta.label, int(v)) for v in page.selected_action if v.isdigit())
    return refs


def result_rows(html: str) -> str:
    """The changelist's result table (empty when nothing matched)."""
    match = re.search(r'<table id="result_list".*?</table>', html, re.S)
    return match.group(0) if match else ""


def filter_links(html: str) -> list[str]:
    """The query strings a changelist links to: filters, facets, sorting, pagination."""
    return sorted({href for href in parse(html).links if href.startswith("?")})
