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
        env={**os.environ, "SECRET_KEY": "x", "POSTGRES_PASSWORD": "y", "FTPD_PUBLIC_ADDRESS": "192.0.2.10"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {"postgres", "redis", "web", "sftpd", "ftpd", "worker", "beat"}


def test_compose_publishes_the_ftp_ports_and_the_whole_passive_range() -> None:
    import yaml

    config = yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())
    ftpd = config["services"]["ftpd"]
    env = {**config["x-portal"]["environment"], **ftpd["environment"]}
    first, last = (int(p) for p in env["FTPD_PASSIVE_PORTS"].split("-"))
    assert f"{first}-{last}:{first}-{last}" in ftpd["ports"]
    assert f"{env['FTPD_PORT']}:{env['FTPD_PORT']}" in ftpd["ports"]
    assert f"{env['FTPD_IMPLICIT_PORT']}:{env['FTPD_IMPLICIT_PORT']}" in ftpd["ports"]
    assert "tls:/data/tls" in config["x-portal"]["volumes"]  # the certificate outlives the container


def test_compose_refuses_to_start_without_secrets() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "POSTGRES_PASSWORD", "FTPD_PUBLIC_ADDRESS")}
    result = subprocess.run(
        [*_compose(), "-f", str(ROOT / "docker" / "compose.yml"), "config"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr or "POSTGRES_PASSWORD" in result.stderr


def test_dockerfile_copies_every_package_and_runs_as_a_user() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    local_apps = {app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()}
    assert {"portal", "jobs", "albums", "sftpd", "tree", "ftpd"} <= local_apps | {"portal"}
    for package in local_apps | {"portal"}:
        assert f"COPY {package} ./{package}" in dockerfile
    for folder in settings.LOCALE_PATHS:  # the translations, as compiled .mo files
        name = Path(folder).relative_to(ROOT)
        assert f"COPY {name} ./{name}" in dockerfile
    assert "USER portal" in dockerfile
    assert "pip install -r requirements.txt" in dockerfile
