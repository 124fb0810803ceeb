"""Istio faults on a Kubernetes VirtualService (networking.istio.io/v1), by route name, and the
VirtualService restored as it was.

Why not chaostoolkit-istio's fault actions (0.4.1 installs here, and is not used): they choose the
routes to fault by destination (host, subset), and every route of our VirtualService has the same
destination, so a fault meant for the payouts routes would land on every route; they default to
networking.istio.io/v1alpha3; and their undo pops `fault`, which loses a fault that was there before.
These speak to the API server through the same kubernetes client, connected by chaostoolkit-
kubernetes's `create_k8s_api_client` (same credential rules: kubeconfig context, in-pod, or
KUBERNETES_HOST).

Writes are conditional on the resourceVersion read (a merge patch carrying
metadata.resourceVersion, or a PUT of the object): the API server answers 409 Conflict when someone
changed the VirtualService in between. The undo then reads it again and restores only our routes,
keeping the other change."""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterator
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness.expiry import expiring
from harness.faults import FaultNotApplied, FaultNotUndone, Proof

GROUP, VERSION, PLURAL = "networking.istio.io", "v1", "virtualservices"
CONFLICT_RETRIES = 5


def api_client(kube: dict[str, Any]) -> client.ApiClient:
    from chaosk8s import create_k8s_api_client  # heavy: only when Kubernetes is the target

    return create_k8s_api_client(kube)


def read(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    try:
        found = client.CustomObjectsApi(api).get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name
        )
        return cast(dict[str, Any], found)
    except ApiException as error:
        raise FaultNotApplied(f"VirtualService {namespace}/{name}: {error.status} {error.reason}") from None


def _routes(vs: dict[str, Any]) -> list[dict[str, Any]]:
    return list(vs.get("spec", {}).get("http", []))


def restore(namespace: str, name: str, original_routes: list[dict[str, Any]], kube: dict[str, Any]) -> None:
    """Put each route of `original_routes` back (matched by name) in the VirtualService as it is now,
    retrying on 409 Conflict; FaultNotUndone when it cannot. Also the expiry's undo (harness/expiry.py)."""
    api = client.CustomObjectsApi(api_client(kube))
    by_name = {route["name"]: route for route in original_routes}
    for _ in range(CONFLICT_RETRIES):
        current = cast(
            dict[str, Any], api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        )
        current["spec"]["http"] = [by_name.get(route.get("name"), route) for route in _routes(current)]
        try:
            api.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, current)
            return
        except ApiException as error:
            if error.status != 409:
                raise FaultNotUndone(
                    f"VirtualService {namespace}/{name}: restore answered {error.status}"
                ) from None
    raise FaultNotUndone(
        f"VirtualService {namespace}/{name}: still conflicting after {CONFLICT_RETRIES} tries"
    )


@contextlib.contextmanager
def route_faults(
    kube: dict[str, Any], namespace: str, name: str, faults: dict[str, dict[str, Any]], ttl_s: float
) -> Iterator[Proof]:
    """Each named http route of the VirtualService gets its HTTPFaultInjection; proven by reading it
    back; the routes restored as they were when the block ends, or by the expiry after `ttl_s`."""
    api = api_client(kube)
    original = read(api, namespace, name)
    names = [route.get("name") for route in _routes(original)]
    unknown = sorted(set(faults) - set(names))
    if unknown:
        raise FaultNotApplied(
            f"VirtualService {namespace}/{name} has no route {unknown}; its routes: {names}"
        )
    faulted = [copy.deepcopy(r) for r in _routes(original) if r.get("name") in faults]
    http = [route | {"fault": faults[route["name"]]} if route.get("name") in faults else route
            for route in _routes(original)]  # fmt: skip
    body = {"metadata": {"resourceVersion": original["metadata"]["resourceVersion"]}, "spec": {"http": http}}
    expiry_args = {"namespace": namespace, "name": name, "original_routes": faulted, "kube": _shareable(kube)}
    with expiring(ttl_s, "chaos.istio:restore", expiry_args):
        try:
            client.CustomObjectsApi(api).patch_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name, body
            )
            now = {r.get("name"): r.get("fault") for r in _routes(read(api, namespace, name))}
            if any(now.get(route) != fault for route, fault in faults.items()):
                raise FaultNotApplied(f"VirtualService {namespace}/{name}: asked for {faults}, it has {now}")
            yield Proof("istio_route_faults", time.time(), {"virtual_service": name, "faults": faults})
        except ApiException as error:
            raise FaultNotApplied(
                f"VirtualService {namespace}/{name}: patch answered {error.status}"
            ) from None
        finally:
            restore(namespace, name, faulted, kube)


def _shareable(kube: dict[str, Any]) -> dict[str, Any]:
    """What the expiry process may see on its command line: where to connect, never a credential (it
    inherits the environment, as chaostoolkit-kubernetes reads it)."""
    return {k: v for k, v in kube.items() if k in ("KUBERNETES_CONTEXT", "KUBERNETES_HOST")}
