"""deploy/k8s/lantern.yaml: what schemas cannot check (`make deploy-check` does those)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

MANIFESTS = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "lantern.yaml"
# PostgreSQL's defaults: max_connections, of which superuser_reserved_connections
# are kept for an administrator
MAX_CONNECTIONS, RESERVED = 100, 3
# Kubernetes' default rolling update runs up to 25% more pods than asked for
SURGE = 1.25


def documents() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(MANIFESTS.read_text()) if d]


def test_every_pod_at_the_autoscalers_maximum_fits_postgresqls_connections() -> None:
    """Each Rasa worker and each gateway keeps its own pool: a crisis that scales
    them out must not meet "too many clients" from PostgreSQL."""
    docs = documents()
    config = next(d["data"] for d in docs if d["kind"] == "ConfigMap")
    most = {
        d["spec"]["scaleTargetRef"]["name"]: d["spec"]["maxReplicas"]
        for d in docs
        if d["kind"] == "HorizontalPodAutoscaler"
    }
    per_process = int(config["SQL_POOL_SIZE"]) + int(config["SQL_MAX_OVERFLOW"])
    processes = {
        "lantern-rasa": int(config["SANIC_WORKERS"]),  # each worker its own pool
        "lantern-bot": 1,
    }  # the action server keeps no database connection
    needed = sum(
        math.ceil(most[name] * SURGE) * workers * per_process for name, workers in processes.items()
    )
    assert needed <= MAX_CONNECTIONS - RESERVED, needed
    assert needed == 36  # as the ConfigMap's comment says
