"""Staff of one studio find nothing of another studio anywhere in the admin, and cannot write into it.

Every ModelAdmin registered in ``admin.site`` is walked (a new one is covered automatically): its
list with every filter, facet and sort link, searches for the other studio's names, its add form, the
change/history/delete pages of the studio's own objects, the other studio's object URLs, and the
autocomplete endpoint for every relation of every model. "Nothing of Bravo" means: no "bravo" in the
page (every Bravo name carries it) and no id of a Bravo row among the page's links, choices and rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from django.apps import apps
from django.contrib import admin
from django.db.models import Model
from django.http import FileResponse
from django.test import Client

from albums.models import Upload
from tests.admin.cast import Cast
from tests.admin.pages import filter_links, parse, references, result_rows

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response


def label(model: type[Model]) -> str:
    return model._meta.label


MODELS = sorted(admin.site._registry, key=label)


def url(model: type[Model], view: str = "", pk: int | None = None) -> str:
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    return base + (f"{pk}/" if pk is not None else "") + (f"{view}/" if view else "")


def assert_nothing_of_bravo(response: Response, model: type[Model], cast: Cast, where: str) -> None:
    page = response.content.decode()
    assert "bravo" not in page.lower(), f"{where}: a Bravo name is on the page"
    leaked = references(page, model) & cast.bravo_refs()
    assert not leaked, f"{where}: Bravo rows referenced: {sorted(leaked)}"


def shown_pages(client: Client, model: type[Model]) -> Iterator[tuple[str, Response]]:
    """The changelist and every page its filter, facet and sort links lead to (one level deep, facets on too)."""
    first = client.get(url(model))
    yield url(model), first
    if first.status_code != 200:
        return
    faceted = client.get(url(model), {"_facets": "True"})
    yield url(model) + "?_facets=True", faceted
    links = set(filter_links(first.content.decode())) | set(filter_links(faceted.content.decode()))
    for link in sorted(links):
        yield url(model) + link, client.get(url(model) + link)


@pytest.fixture
def alpha_staff(client: Client, cast: Cast) -> Client:
    client.force_login(cast.alpha.staff)
    return client


@pytest.mark.parametrize("model", MODELS, ids=label)
def test_staff_of_a_studio_see_none_of_another_studios_rows_in_any_list_filter_or_facet(
    model: type[Model], cast: Cast, alpha_staff: Client
) -> None:
    for where, response in shown_pages(alpha_staff, model):
        assert response.status_code in (200, 403), where
        if response.status_code == 200:
            assert_nothing_of_bravo(response, model, cast, where)


@pytest.mark.parametrize("model", MODELS, ids=label)
def test_staff_of_a_studio_find_none_of_another_studios_rows_by_search(
    model: type[Model], cast: Cast, alpha_staff: Client
) -> None:
    bravo = cast.bravo
    queries = [
        "bravo",
        bravo.account.name,
        bravo.job.internal_name,
        bravo.job.title,
        bravo.album.name,
        bravo.ftp_user.username,
        bravo.photo.filename,
        bravo.photo.sha256,
        bravo.rejected.filename,
        bravo.rejected.reason,
        bravo.staff.username,
    ]
    for q in queries:
        response = alpha_staff.get(url(model), {"q": q})
        assert response.status_code in (200, 403), q
        if response.status_code == 200:
            rows = result_rows(response.content.decode())
            assert not parse(rows).links, f"searching {q!r} found rows: {rows}"
            assert not references(response.content.decode(), model) & cast.bravo_refs(), q


@pytest.mark.parametrize("model", MODELS, ids=label)
def test_staff_of_a_studio_see_none_of_another_studios_rows_in_any_form_choice(
    model: type[Model], cast: Cast, alpha_staff: Client
) -> None:
    response = alpha_staff.get(url(model, "add"))
    assert response.status_code in (200, 403), "add"
    if response.status_code == 200:
        assert_nothing_of_bravo(response, model, cast, "add form")
    alpha_rows = set(model._default_manager.values_list("pk", flat=True)) - cast.bravo_rows[model]
    for pk in sorted(alpha_rows):
        for view in ("change", "history", "delete"):
            response = alpha_staff.get(url(model, view, pk))
            # 302: not one of Alpha's rows this staff member may see (the superuser), answered as missing.
            assert response.status_code in (200, 302, 403), (view, pk)
            if response.status_code == 200:
                assert_nothing_of_bravo(response, model, cast, f"{view} page of {model._meta.label} {pk}")


@pytest.mark.parametrize("model", MODELS, ids=label)
def test_another_studios_rows_answer_exactly_as_rows_that_do_not_exist(
    model: type[Model], cast: Cast, alpha_staff: Client
) -> None:
    missing = max(model._default_manager.values_list("pk", flat=True), default=0) + 1000
    for pk in sorted(cast.bravo_rows[model]):
        for view in ("change", "history", "delete"):
            response, nothing = alpha_staff.get(url(model, view, pk)), alpha_staff.get(url(model, view, missing))
            answer = (response.status_code, response.get("Location"))
            assert answer == (nothing.status_code, nothing.get("Location")), (view, pk)
            assert response.status_code in (302, 403), (view, pk)
            followed = alpha_staff.get(url(model, view, pk), follow=True)
            if followed.status_code == 200:
                assert_nothing_of_bravo(followed, model, cast, f"{view} of Bravo's {model._meta.label} {pk}")


@pytest.mark.parametrize("model", MODELS, ids=label)
def test_staff_of_a_studio_cannot_change_or_delete_another_studios_rows_by_forged_posts(
    model: type[Model], cast: Cast, alpha_staff: Client
) -> None:
    forged = {
        "name": "forged",
        "username": "forged",
        "internal_name": "forged",
        "title": "forged",
        "status": "archived",
        "job": str(cast.alpha.job.pk),
        "account": str(cast.alpha.account.pk),
        "post": "yes",
    }
    for pk in sorted(cast.bravo_rows[model]):
        before = model._default_manager.filter(pk=pk).values().get()
        for view in ("change", "delete"):
            response = alpha_staff.post(url(model, view, pk), forged)
            assert response.status_code in (302, 403), (view, pk)
        assert model._default_manager.filter(pk=pk).values().get() == before, pk


@pytest.mark.parametrize("model", MODELS, ids=label)
def test_no_bulk_action_reaches_another_studios_rows_by_forged_ids(
    model: type[Model], cast: Cast, alpha_staff: Client, queued: list[int], django_capture_on_commit_callbacks
) -> None:
    page = alpha_staff.get(url(model))
    if page.status_code != 200:
        return
    actions = [value for name, value in parse(page.content.decode()).choices if name == "action" and value]
    bravo = sorted(cast.bravo_rows[model])
    before = list(model._default_manager.filter(pk__in=bravo).values())
    for action in actions:
        with django_capture_on_commit_callbacks(execute=True):
            alpha_staff.post(url(model), {"action": action, "_selected_action": bravo, "post": "yes"})
    assert list(model._default_manager.filter(pk__in=bravo).values()) == before, actions
    assert not set(queued) & cast.bravo_rows.get(Upload, set())


def relations() -> list[tuple[type[Model], str]]:
    return sorted(
        (
            (model, f.name)
            for model in apps.get_models()
            for f in model._meta.get_fields()
            if f.is_relation and (f.concrete or f.many_to_many) and not f.auto_created
        ),
        key=lambda r: (r[0]._meta.label, r[1]),
    )


def test_the_autocomplete_endpoint_lists_none_of_another_studios_rows(cast: Cast, alpha_staff: Client) -> None:
    answered = 0
    for model, field_name in relations():
        remote = model._meta.get_field(field_name).related_model
        assert isinstance(remote, type)
        for term in ("", "bravo"):
            response = alpha_staff.get(
                "/admin/autocomplete/",
                {
                    "app_label": model._meta.app_label,
                    "model_name": str(model._meta.model_name),
                    "field_name": field_name,
                    "term": term,
                },
            )
            where = f"{model._meta.label}.{field_name} term={term!r}"
            assert response.status_code in (200, 403, 404), where
            if response.status_code != 200:
                continue
            answered += 1
            results = response.json()["results"]
            assert not any("bravo" in r["text"].lower() for r in results), where
            ids = {int(r["id"]) for r in results}
            assert not ids & cast.bravo_rows.get(remote, set()), where
    assert answered, "no relation was answered: the test would prove nothing"


# --- the checks have teeth: shown to a superuser, Bravo is seen by the same checks ---------------


@pytest.mark.parametrize("model", [m for m in MODELS if m._meta.label != "auth.Group"], ids=label)
def test_the_same_pages_shown_to_a_superuser_do_show_the_other_studio(
    model: type[Model], cast: Cast, client: Client
) -> None:
    client.force_login(cast.superuser)
    page = client.get(url(model)).content.decode()
    assert "bravo" in page.lower()
    assert references(page, model) & cast.bravo_refs()
    assert parse(result_rows(client.get(url(model), {"q": "bravo"}).content.decode())).links


# --- the photo pages' own views and links: an upload's file, "Process again", the grid's links -----


UPLOAD_VIEWS = ("file", "reprocess")


def upload_view(view: str, client: Client, pk: int) -> Response:
    address = url(Upload, view, pk)
    return client.post(address) if view == "reprocess" else client.get(address, {"download": "1"})


@pytest.mark.parametrize("view", UPLOAD_VIEWS)
def test_another_studios_upload_file_and_process_again_answer_as_missing(
    view: str, cast: Cast, alpha_staff: Client, queued: list[int], django_capture_on_commit_callbacks
) -> None:
    missing = max(Upload.objects.values_list("pk", flat=True)) + 1000
    nothing = upload_view(view, alpha_staff, missing)
    assert nothing.status_code == 404
    before = list(Upload.objects.filter(account=cast.bravo.account).values())
    for pk in sorted(cast.bravo_rows[Upload]):
        with django_capture_on_commit_callbacks(execute=True):
            response = upload_view(view, alpha_staff, pk)
        assert (response.status_code, response.content) == (nothing.status_code, nothing.content), (view, pk)
    assert list(Upload.objects.filter(account=cast.bravo.account).values()) == before
    assert not set(queued) & cast.bravo_rows[Upload]


@pytest.mark.parametrize("view", UPLOAD_VIEWS)
def test_the_upload_views_need_a_login_and_a_place_in_the_studio(
    view: str, cast: Cast, client: Client, django_user_model
) -> None:
    pk = cast.alpha.rejected.pk
    response = upload_view(view, client, pk)
    assert response.status_code == 302 and "/login/" in response["Location"]
    stranger = django_user_model.objects.create_user(username="stranger", is_staff=True)
    client.force_login(stranger)  # staff of no studio
    assert upload_view(view, client, pk).status_code in (403, 404)


def test_a_superuser_reaches_every_studios_upload_file(cast: Cast, client: Client) -> None:
    client.force_login(cast.superuser)
    for studio in (cast.alpha, cast.bravo):
        assert client.get(url(Upload, "file", studio.rejected.pk)).status_code == 200


def test_every_link_of_the_photo_pages_opens_for_the_studios_staff_and_shows_nothing_of_bravo(
    cast: Cast, alpha_staff: Client
) -> None:
    alpha = cast.alpha
    pages = [
        url(apps.get_model("jobs", "PhotoJob")),
        url(apps.get_model("albums", "Album")),
        url(apps.get_model("albums", "Album"), "change", alpha.album.pk),
        url(apps.get_model("albums", "Photo"), "change", alpha.photo.pk),
        url(Upload),
        url(Upload, "change", alpha.rejected.pk),
        url(Upload, "change", Upload.objects.get(photo=alpha.photo).pk),
    ]
    followed = 0
    for page in pages:
        response = alpha_staff.get(page)
        assert response.status_code == 200, page
        for link in sorted(set(parse(response.content.decode()).links)):
            if link.startswith("?"):
                link = page + link
            if not link.startswith(("/admin/albums/", "/admin/jobs/photojob/", "/admin/subjects/", "/media/")):
                continue
            answer = alpha_staff.get(link)
            assert answer.status_code == 200, f"{link} (from {page})"
            followed += 1
            if not isinstance(answer, FileResponse):
                model = apps.get_model("albums", "Photo") if "/photo/" in link else Upload
                assert_nothing_of_bravo(answer, model, cast, link)
    assert followed > 20, followed
