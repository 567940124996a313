"""Subjects and what the worker found in each photo (DESIGN §10).

A ``Subject`` is one person of an album (a child of a class), known by the code on its printed
card. ``Subject.photos`` are the photos assigned to it (several subjects share the photos after a
card with siblings' codes). A ``PhotoScan`` is what the worker found in one individuals photo: the
card codes of this portal, whether a symbol was seen but could not be read, and whether it was a
card of another job. Assignment (``subjects.assignment``) turns the scans of an album into
``Subject.photos``, ``PhotoScan.is_card`` and review flags; nothing else writes them. A photo moved
by hand in the review keeps its place (``PhotoScan.manual_subjects``) through every recomputation.
"""

from __future__ import annotations

from django.db import models

from albums.models import Album, Photo


class Subject(models.Model):
    album = models.ForeignKey(Album, on_delete=models.CASCADE, related_name="subjects")
    number = models.PositiveIntegerField()  # 1, 2, ... within the album: printed on the card
    name = models.CharField(max_length=200, blank=True)  # blank for a blank card
    external_id = models.CharField(max_length=100, blank=True)  # the roster's id
    code = models.CharField(max_length=64, unique=True)  # the card's payload (subjects.codes)
    photos = models.ManyToManyField(Photo, related_name="subjects", blank=True)
    flags = models.JSONField(default=list, blank=True)  # review reasons, set by assignment
    checked_at = models.DateTimeField(null=True, blank=True)  # a person reviewed it
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)  # its card first photographed

    class Meta:
        ordering = ["album", "number"]
        constraints = [models.UniqueConstraint(fields=["album", "number"], name="subject_number_unique")]

    def __str__(self) -> str:
        return f"{self.number:04d} {self.name}".strip()

    @property
    def folder_name(self) -> str:
        """The export folder: ``0042 Anna Müller``."""
        return str(self)


class PhotoScan(models.Model):
    """What the worker found in one individuals photo, and what assignment made of it."""

    photo = models.OneToOneField(Photo, on_delete=models.CASCADE, primary_key=True, related_name="scan")
    codes = models.JSONField(default=list, blank=True)  # this portal's card payloads found (valid MAC)
    foreign = models.CharField(max_length=200, blank=True)  # a valid card of another job: why it is held
    unreadable = models.BooleanField(default=False)  # a QR symbol seen but not decoded
    typed_code = models.CharField(max_length=64, blank=True)  # a code staff typed for an unreadable card
    camera = models.CharField(max_length=300, blank=True)  # make|model|serial, or the file-name prefix
    sequence = models.CharField(max_length=100, blank=True)  # the ordering key after the capture time
    taken_at = models.DateTimeField(null=True, blank=True)  # with sub-seconds
    is_card = models.BooleanField(default=False)  # set by assignment: a card photo, never exported
    flags = models.JSONField(default=list, blank=True)  # review reasons, set by assignment
    held_reason = models.CharField(max_length=300, blank=True)  # unassigned on purpose, and why
    # A person's decision in the review (subjects.review): the ids of the subjects this photo belongs
    # to ([] = unassigned by hand); None = as the cards say. Assignment keeps it, whatever it recomputes.
    manual_subjects = models.JSONField(null=True, blank=True)
    scanned_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"scan of {self.photo_id}"
