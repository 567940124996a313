"""The deployment files: the compose file is valid and the image runs every role from the repo."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from django.conf import settings

from tests.helpers import require_program

ROOT = Path(settings.BASE_DIR)


def _compose() -> list[str]:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return [require_program("docker-compose", "docker-compose")]


def test_compose_file_is_valid_and_has_every_service() -> None:
    result = subprocess.run(
        [*_compose(), "-f", str(ROOT / "docker" / "compose.yml"), "config", "--services"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "SECRET_KEY": "x", "POSTGRES_PASSWORD": "y"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {"postgres", "redis", "web", "sftpd", "worker", "beat"}


def test_compose_refuses_to_start_without_secrets() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "POSTGRES_PASSWORD")}
    result = subprocess.run(
        [*_compose(), "-f", str(ROOT / "docker" / "compose.yml"), "config"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr or "POSTGRES_PASSWORD" in result.stderr


def test_dockerfile_copies_every_package_and_runs_as_a_user() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    for package in ("portal", "jobs", "albums", "sftpd"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert "USER portal" in dockerfile
    assert "pip install -r requirements.txt" in dockerfile
