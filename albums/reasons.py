"""What the photographer should do about an upload's reason: the one rule, ``advice``.

The intake writes its reasons in English as plain sentences (``albums.imaging`` for the image's
verdicts, ``albums.intake`` and ``albums.services`` for the rest, ``devices`` for a camera's
profile and status reports). ``advice`` maps each of them to one translated sentence a person can
act on; the admin's upload page, the photographer's notices and anything else that explains a
reason call it, so the advice reads the same everywhere. Reasons are matched by their wording
(``match``/``search`` of the patterns below, first match wins); a reason no pattern knows gets a
general sentence, never nothing, except the empty reason and the reasons of a file that was
taken in (a duplicate, a status report), which need no action.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.utils.translation import gettext as _


def _again_from_original() -> str:
    return _(
        "The file was cut off or damaged on the way. Upload it again from the original (the memory card "
        "or the camera); if it is damaged there too, it cannot be used."
    )


def _nothing_to_do() -> str:
    return _("Nothing to do: the file was replaced or deleted before it was processed.")


def _studio_retries() -> str:
    return _(
        "Nothing the photographer did wrong: the server could not process the file. The studio can press "
        "“Process again”; if it fails again, tell the operator."
    )


# (pattern, advice) in order: the first pattern that matches the start of the reason wins. The
# sentences are functions so that they are translated into the language active when asked.
_RULES: list[tuple[re.Pattern[str], Callable[[], str]]] = [
    (re.compile(r"duplicate of photo \d+"), lambda: ""),
    (re.compile(r"status report$"), lambda: ""),
    (
        re.compile(r"file is empty$"),
        lambda: _("The file arrived empty. Upload it again; if it is empty on the camera too, it cannot be used."),
    ),
    (
        re.compile(r"larger than [\d.]+ MB$"),
        lambda: _("The file is larger than the limit. Export it smaller (as a JPEG) and upload it again."),
    ),
    (
        re.compile(r"image has more than [\d.]+ megapixels$"),
        lambda: _("The picture has too many pixels. Export it at a smaller size and upload it again."),
    ),
    (
        re.compile(r"file type \S+ is not accepted$"),
        lambda: _(
            "Only JPEG and PNG photos are taken. Export the picture as a JPEG and upload that; other files "
            "(raw files, videos, documents) do not belong in an album."
        ),
    ),
    (
        re.compile(r"not an image$"),
        lambda: _(
            "This file is not a photo. If it was put here by mistake, delete it; "
            "otherwise upload the picture as a JPEG."
        ),
    ),
    (re.compile(r"(JPEG is truncated|PNG is truncated or damaged|image data is damaged)$"), _again_from_original),
    (
        re.compile(r"its album was deleted$"),
        lambda: _(
            "The album was deleted while the file waited. Make the album folder again and upload the file into it."
        ),
    ),
    (
        re.compile(r"no .+; this camera's profile requires one$"),
        lambda: _(
            "The camera did not write what its profile requires. Check the camera's settings (clock, GPS, "
            "camera id) or ask the studio to change the device's profile; then take the photos again."
        ),
    ),
    (
        re.compile(r"status report"),
        lambda: _(
            "The camera's status report could not be read. Check the camera's report settings; "
            "its photos are not affected."
        ),
    ),
    (re.compile(r"replaced by (a newer upload of the same file|a file renamed over it)$"), _nothing_to_do),
    (re.compile(r"deleted over \S+ before it was processed$"), _nothing_to_do),
    (
        re.compile(
            r"(could not be processed|processing took (longer|too long)|processing was interrupted"
            r"|needs more memory than a worker has)"
        ),
        _studio_retries,
    ),
]


def advice(reason: str) -> str:
    """One translated sentence saying what the photographer should do about ``reason``.

    "" for the empty reason and for the reasons of a file that was taken in (nothing to do).
    """
    reason = reason.strip()
    if not reason:
        return ""
    for pattern, sentence in _RULES:
        if pattern.match(reason):
            return sentence()
    return _("Check the file and upload it again; if the reason is unclear, ask the studio.")
