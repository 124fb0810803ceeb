"""Where the harness acts: the `local` stack `tronops up` started, or a `kubernetes` deployment.

A target is one small YAML file (`--target FILE`):

    kind: local
    stack_dir: var/stack            # optional; where `tronops up` keeps its state (stack.json)

    kind: kubernetes
    context: staging                # the kube context, as `kubectl --context`
    namespace: lucid-payment
    selector: app=tron-payment-service
    base_url: https://payments.staging.example.com
    prometheus_url: https://prometheus.staging.example.com
    virtual_service: tron-payment-service
    production: false               # optional; chaos refuses a production target unless told so
    payer_wallets:                  # optional; pre-funded TRX wallets chaos pays out from (a cluster's
      - {user_id: ops-chaos-1, wallet_id: 7f0c...}  # node has no faucet the harness may use)
    deployment: tron-payment-service  # drill maintenance: the Deployment it scales and restarts
    backups: s3://lucid-backups/tron-payment/  # drill backup-check: where the backup CronJob uploads
    mongo_url: mongodb://restore-check.internal:27017  # drill backup-check: a MongoDB for the scratch
                                    # restore that verifies the newest backup (a scratch database);
                                    # drill restore: the service's own MongoDB, which it drops and restores;
                                    # drill region-loss: the primary's, fenced (payouts frozen) as it returns
    allow_data_loss: false          # drill restore: true lets it drop the service's database (refused
                                    # otherwise: never on a database whose loss is not meant)
    chain_url: https://api.trongrid.io  # drill restore: TronGrid, operations are recovered from the chain
    usdt_contract: TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t  # drill restore: the USDT contract the service uses
    secondary:                      # drill region-loss: the second region's cluster, with the keys of a
      context: dr                   # kubernetes target (the required ones, and deployment, mongo_url,
      namespace: lucid-payment      # allow_data_loss: true, chain_url, usdt_contract: the secondary
      selector: app=tron-payment-service  # restores this target's `backups` into its own mongo_url)
      base_url: https://payments.dr.example.com
      prometheus_url: https://prometheus.dr.example.com
      virtual_service: tron-payment-service
      deployment: tron-payment-service
      mongo_url: mongodb://mongo.dr.internal:27017
      allow_data_loss: true
      chain_url: https://api.trongrid.io
      usdt_contract: TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t

The drills read `deployment`, `backups`, `mongo_url`, `allow_data_loss`, `chain_url`, `usdt_contract` and
`secondary` only when they need them: a drill missing one stops (exit 2) with the file, the key and what
to write.
Connection to the API server follows chaostoolkit-kubernetes (the kubeconfig's `context`, in-pod, or
KUBERNETES_HOST and its variables).

Bad files raise `TargetError` naming the file, the key and what to write instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import yaml

from harness.clients.kubernetes import KubernetesPods
from harness.clients.pods import Pods
from harness.objectives import REPO

DEFAULT_STACK_DIR = REPO / "var" / "stack"
STATE_FILE = "stack.json"  # as stack/topology.py writes it
# A Kubernetes label selector of equality terms (the form the harness's pod operations need).
SELECTOR = re.compile(r"^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]+(,[A-Za-z0-9./_-]+=[A-Za-z0-9._-]+)*$")
KUBERNETES_KEYS = ("context", "namespace", "selector", "base_url", "prometheus_url", "virtual_service")
DRILL_KEYS = ("deployment", "backups", "mongo_url", "chain_url", "usdt_contract")  # optional text; each
# a drill's need (see above); allow_data_loss is the one optional flag
# A secondary region's keys: a kubernetes target's, without `kind` and without a secondary of its own.
SECONDARY_KEYS = (*KUBERNETES_KEYS, "production", "payer_wallets", *DRILL_KEYS, "allow_data_loss")
# A TRON address in base58check: T and 33 more of bitcoin's base58 alphabet.
TRON_ADDRESS = re.compile(r"^T[1-9A-HJ-NP-Za-km-z]{33}$")
# A Deployment's name: a DNS-1123 subdomain (k8s.io/apimachinery/pkg/util/validation).
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
WALLET_KEYS = ("user_id", "wallet_id")  # a payer wallet: its owner (the token's subject) and its id


class PodControl(Protocol):
    """What chaos does to pods on any target: list them, kill some by name (one proof per pod)."""

    def pods(self) -> list[dict[str, Any]]: ...

    def kill(self, names: list[str]) -> list[dict[str, Any]]: ...


class TargetError(ValueError):
    """A target file or stack state that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class PartState:
    """One part of the local stack as `tronops up` recorded it."""

    name: str
    pid: int
    start_time: str | None
    url: str
    log: str
    admin_url: str | None = None


@dataclass(frozen=True)
class StackState:
    """The local stack's state file, typed: `state.url("mesh")` rather than searching a dict."""

    started_at: str
    run_dir: Path
    service_url: str
    usdt_contract: str
    parts: tuple[PartState, ...]
    replicas: int
    chain_url: str | None = None  # the devnet's, also when another region's stack runs it (chain_url)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "stack state") -> StackState:
        try:
            parts = tuple(
                PartState(
                    p["name"], int(p["pid"]), p.get("start_time"), p["url"], p["log"], p.get("admin_url")
                )
                for p in raw["parts"]
            )
            return cls(
                started_at=raw["started_at"],
                run_dir=Path(raw["run_dir"]),
                service_url=raw["service_url"],
                usdt_contract=raw["usdt_contract"],
                parts=parts,
                replicas=int(raw.get("replicas", 3)),
                chain_url=raw.get("chain_url"),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise TargetError(f"{source}: not a stack state written by `tronops up` ({error!r})") from None

    @classmethod
    def read(cls, stack_dir: Path) -> StackState:
        path = stack_dir / STATE_FILE
        try:
            raw = json.loads(path.read_text())
        except OSError:
            raise TargetError(
                f"no local stack recorded at {path}: start one with `tronops up --detach`"
            ) from None
        except ValueError as error:
            raise TargetError(
                f"{path}: not JSON ({error}); `tronops down` then `tronops up` rewrites it"
            ) from None
        return cls.from_dict(raw, str(path))

    def part(self, name: str) -> PartState:
        for part in self.parts:
            if part.name == name:
                return part
        raise TargetError(
            f"the stack has no part {name!r}; its parts: {', '.join(p.name for p in self.parts)}"
        )

    def url(self, name: str) -> str:
        if name == "devnet" and self.chain_url and not any(p.name == name for p in self.parts):
            return self.chain_url  # a region on a shared chain it did not start
        return self.part(name).url

    def admin_url(self, name: str) -> str:
        admin = self.part(name).admin_url
        if admin is None:
            raise TargetError(f"part {name!r} has no admin URL")
        return admin


@dataclass(frozen=True)
class LocalTarget:
    stack_dir: Path

    kind = "local"

    def state(self) -> StackState:
        """Read now: the stack may have been restarted since the target was loaded."""
        return StackState.read(self.stack_dir)

    @property
    def base_url(self) -> str:
        return self.state().service_url

    @property
    def prometheus_url(self) -> str:
        return self.state().url("prometheus")

    def pods(self) -> PodControl:
        return Pods(self.state().url("pods"))


@dataclass(frozen=True)
class KubernetesTarget:
    context: str
    namespace: str
    selector: str
    base_url: str
    prometheus_url: str
    virtual_service: str
    production: bool = False
    payer_wallets: tuple[dict[str, str], ...] = ()
    deployment: str | None = None
    backups: str | None = None
    mongo_url: str | None = None
    chain_url: str | None = None
    usdt_contract: str | None = None
    allow_data_loss: bool = False
    secondary: KubernetesTarget | None = None  # drill region-loss: the second region's cluster
    source: str = field(default="the target file", compare=False)  # the file, for errors naming it

    kind = "kubernetes"

    def needs(self, key: str, what_for: str) -> str:
        """The value of an optional key a drill needs; TargetError naming the file and what to write."""
        value: str | None = getattr(self, key)
        if value is None:
            example = {
                "deployment": "deployment: tron-payment-service (the Deployment's metadata.name)",
                "backups": "backups: s3://BUCKET/PREFIX/ (where the backup CronJob uploads)",
                "mongo_url": "mongo_url: mongodb://HOST:27017 (where a scratch copy may be restored)",
                "chain_url": "chain_url: https://api.trongrid.io (TronGrid of the service's network)",
                "usdt_contract": "usdt_contract: T... (the USDT contract the service pays with)",
            }[key]
            raise TargetError(
                f"{self.source}: {what_for} needs `{key}` in a kubernetes target; add {example}"
            )
        return value

    def pods(self) -> PodControl:
        return KubernetesPods.from_kubeconfig(self.context, self.namespace, self.selector)


Target = LocalTarget | KubernetesTarget


def _url(path: str, raw: dict[str, Any], key: str) -> str:
    value = raw[key]
    parsed = urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise TargetError(f"{path}: {key} is {value!r}; write an http(s) URL such as https://host:port")
    return str(value).rstrip("/")


def _secondary(path: str, raw: dict[str, Any]) -> KubernetesTarget | None:
    """The second region's cluster (drill region-loss): a kubernetes target's keys, one level down."""
    if "secondary" not in raw:
        return None
    where, block = f"{path}: secondary", raw["secondary"]
    if not isinstance(block, dict):
        raise TargetError(
            f"{where} must be a mapping with the keys of a kubernetes target ({', '.join(KUBERNETES_KEYS)}, "
            "and the drill keys the secondary's restore needs)"
        )
    unknown = sorted(set(block) - set(SECONDARY_KEYS))
    if unknown:
        raise TargetError(f"{where}: unknown keys {unknown}; allowed: {list(SECONDARY_KEYS)}")
    return _kubernetes(where, block)


def _kubernetes(path: str, raw: dict[str, Any]) -> KubernetesTarget:
    missing = [key for key in KUBERNETES_KEYS if key not in raw]
    if missing:
        raise TargetError(f"{path}: a kubernetes target needs {', '.join(missing)} (see harness/target.py)")
    not_text = [key for key in KUBERNETES_KEYS if not isinstance(raw[key], str) or not raw[key].strip()]
    if not_text:
        raise TargetError(f"{path}: {', '.join(not_text)} must be non-empty text")
    flags = {key: raw.get(key, False) for key in ("production", "allow_data_loss")}
    for key, flag in flags.items():
        if not isinstance(flag, bool):
            raise TargetError(f"{path}: {key} is {flag!r}; write true or false")
    if not SELECTOR.match(raw["selector"]):
        raise TargetError(
            f"{path}: selector {raw['selector']!r} is not a label selector; write key=value[,key=value], "
            "e.g. app=tron-payment-service"
        )
    wallets = raw.get("payer_wallets", [])
    drill_values = {key: raw.get(key) for key in DRILL_KEYS}
    not_set = [
        key
        for key, value in drill_values.items()
        if value is not None and (not isinstance(value, str) or not value.strip())
    ]
    if not_set:
        raise TargetError(f"{path}: {', '.join(not_set)} must be non-empty text when given")
    if drill_values["deployment"] is not None and not DNS_SUBDOMAIN.match(drill_values["deployment"]):
        raise TargetError(
            f"{path}: deployment {drill_values['deployment']!r} is not a Deployment name; write its "
            "metadata.name (lower-case letters, digits, '-' and '.'), e.g. tron-payment-service"
        )
    if drill_values["mongo_url"] is not None and not drill_values["mongo_url"].startswith(
        ("mongodb://", "mongodb+srv://")
    ):
        raise TargetError(f"{path}: mongo_url is {drill_values['mongo_url']!r}; write mongodb://HOST:PORT")
    if drill_values["chain_url"] is not None:
        drill_values["chain_url"] = _url(path, raw, "chain_url")
    if drill_values["usdt_contract"] is not None and not TRON_ADDRESS.match(drill_values["usdt_contract"]):
        raise TargetError(
            f"{path}: usdt_contract {drill_values['usdt_contract']!r} is not a TRON address; write the "
            "contract's base58 address (T followed by 33 characters), e.g. TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
        )
    if not isinstance(wallets, list) or not all(
        isinstance(w, dict)
        and sorted(w) == sorted(WALLET_KEYS)
        and all(isinstance(v, str) and v for v in w.values())
        for w in wallets
    ):
        raise TargetError(
            f"{path}: payer_wallets must be a list of {{user_id: ..., wallet_id: ...}} (pre-funded TRX "
            "wallets and their owners)"
        )
    return KubernetesTarget(
        context=raw["context"],
        namespace=raw["namespace"],
        selector=raw["selector"],
        base_url=_url(path, raw, "base_url"),
        prometheus_url=_url(path, raw, "prometheus_url"),
        virtual_service=raw["virtual_service"],
        production=flags["production"],
        allow_data_loss=flags["allow_data_loss"],
        payer_wallets=tuple(dict(w) for w in wallets),
        secondary=_secondary(path, raw),
        source=path,
        **drill_values,
    )


def load(path: Path) -> Target:
    """The target a YAML file describes; TargetError says what to fix."""
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as error:
        raise TargetError(f"cannot read target file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise TargetError(f"{path}: not YAML: {error}") from None
    if not isinstance(raw, dict):
        raise TargetError(f"{path}: must be a mapping with `kind: local` or `kind: kubernetes`")
    kind = raw.get("kind")
    allowed = {
        "local": ("kind", "stack_dir"),
        "kubernetes": ("kind", *SECONDARY_KEYS, "secondary"),
    }
    if kind not in allowed:
        raise TargetError(f"{path}: kind is {kind!r}; write `kind: local` or `kind: kubernetes`")
    unknown = sorted(set(raw) - set(allowed[kind]))
    if unknown:
        raise TargetError(
            f"{path}: unknown keys {unknown} for a {kind} target; allowed: {list(allowed[kind])}"
        )
    if kind == "kubernetes":
        return _kubernetes(str(path), raw)
    stack_dir = raw.get("stack_dir", DEFAULT_STACK_DIR)
    if not isinstance(stack_dir, str | Path):
        raise TargetError(f"{path}: stack_dir must be a directory path")
    # Relative to the target file, so a file and its stack move together.
    return LocalTarget((path.parent / stack_dir).resolve())
