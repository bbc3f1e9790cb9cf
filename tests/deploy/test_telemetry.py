"""Rasa's telemetry is off wherever Rasa starts: the image, scripts/run, the Makefile.

Left on, Rasa 3.6 sends usage events to Rasa's Segment and its errors, with their
messages, to Rasa's Sentry, where a child's words could end up.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
OFF = "RASA_TELEMETRY_ENABLED=false"


def test_the_image_turns_it_off() -> None:
    env_block = re.search(r"^ENV (.*?)\n\n", (ROOT / "Dockerfile").read_text(), re.M | re.S)
    assert env_block is not None
    assert OFF in env_block.group(1).split()


def test_the_run_command_turns_it_off_whatever_the_environment_says() -> None:
    lines = (ROOT / "scripts" / "run").read_text().splitlines()
    assert f"export {OFF}" in lines  # not a default an inherited value could replace


def test_every_make_target_runs_rasa_with_it_off() -> None:
    probe = "probe: ; @echo $$RASA_TELEMETRY_ENABLED"  # a recipe's environment, as Rasa's
    seen = subprocess.run(
        ["make", "-s", "--eval", probe, "probe"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"], "RASA_TELEMETRY_ENABLED": "true"},
    ).stdout
    assert seen.strip() == "false"


def test_no_deployment_turns_it_back_on() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for service in compose["services"].values():
        assert service.get("environment", {}).get("RASA_TELEMETRY_ENABLED", "false") == "false"
    manifests = (ROOT / "deploy" / "k8s" / "lantern.yaml").read_text()
    assert "RASA_TELEMETRY_ENABLED" not in manifests  # the image's value holds
