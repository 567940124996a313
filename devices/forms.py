"""The "Add a camera" form of the settings page: shape only; ``devices.services`` decides."""

from __future__ import annotations

from typing import Any

from django import forms

from albums.models import Section
from devices import profiles
from jobs import selectors
from jobs.models import Account


class CameraCreateForm(forms.Form):
    username = forms.CharField(max_length=64, help_text="3 to 64 of a-z, 0-9, '.', '_' and '-', e.g. entrance-cam")
    job = forms.ChoiceField(help_text="A planned job: the camera's folder disappears when the job goes active.")
    album = forms.CharField(max_length=200, help_text="The album its pictures go into; made if it does not exist.")
    section = forms.ChoiceField(choices=Section.choices, initial=Section.INDIVIDUALS)
    profile = forms.ChoiceField(help_text="How its pictures are read (time, camera id, position, connection tests).")
    allow_plain_ftp = forms.BooleanField(
        required=False,
        label="Allow plain FTP",
        help_text="Only for a camera that speaks nothing else: its password crosses the network readable.",
    )
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput,
        help_text="Leave empty and a strong one is generated and shown once. An SSH key can be added afterwards.",
    )

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        jobs = selectors.planned_jobs(account_id=account.pk)
        job, profile = self.fields["job"], self.fields["profile"]
        assert isinstance(job, forms.ChoiceField) and isinstance(profile, forms.ChoiceField)
        job.choices = [(j.internal_name, f"{j.internal_name} {j.title}".strip()) for j in jobs]
        profile.choices = [(p.name, p.label) for p in profiles.PROFILES.values()]


class CameraSettingsForm(forms.Form):
    test_patterns = forms.CharField(
        required=False,
        max_length=255,
        help_text="File names that are connection tests, comma-separated (test*, probe.jpg); empty: the profile's.",
    )
    expected_interval_hours = forms.IntegerField(
        required=False,
        min_value=0,
        label="Expected interval (hours)",
        help_text="Warn when nothing came for longer than this; empty or 0: never.",
    )
