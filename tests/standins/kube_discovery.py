"""The legacy discovery documents of the API server stand-in (tests.standins.kube_apiserver):
what kubectl asks before it names a resource. client-go asks for the aggregated form first and
reads these when the answer is plain JSON."""

from __future__ import annotations

from typing import Any

VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def _group(name: str, version: str) -> dict[str, Any]:
    entry = {"groupVersion": f"{name}/{version}", "version": version}
    return {"name": name, "versions": [entry], "preferredVersion": entry}


def _resources(group_version: str, name: str, kind: str) -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            {
                "name": name,
                "singularName": kind.lower(),
                "namespaced": True,
                "kind": kind,
                "verbs": VERBS,
            }
        ],
    }


# GET path -> document, open to every authenticated user (system:discovery).
DOCUMENTS: dict[str, dict[str, Any]] = {
    "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
    "/apis": {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group("coordination.k8s.io", "v1"), _group("authentication.k8s.io", "v1")],
    },
    "/api/v1": _resources("v1", "secrets", "Secret"),
    "/apis/coordination.k8s.io/v1": _resources("coordination.k8s.io/v1", "leases", "Lease"),
    "/version": {"major": "1", "minor": "34", "gitVersion": "v1.34.0"},
}
