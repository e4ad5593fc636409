"""`workbench export kubernetes`: a folder of plain YAML manifests and a Containerfile.

- a CronJob for every automation: `concurrencyPolicy: Forbid` is the scheduler's no-overlap rule,
  `startingDeadlineSeconds` (the shortest gap between two fire times) its one catch-up; an
  automation without a schedule gets a suspended CronJob, to start by hand;
- a ConfigMap with the non-secret values, as `WB_VAR_<NAME>` variables;
- a Secret with the secret ones, mounted as files named by `WB_VAR_<NAME>_FILE`; its values are
  `REPLACE_ME` unless `include_secrets`.
- a Deployment and a Service for a project with service entry points: `workbench serve` on
  `SERVE_PORT` in the pod, the Service's port 80 in the cluster.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from workbench.deploy.image import PROJECT_MOUNT, UID, write_context
from workbench.project.config import SOURCE_DEFAULT, SOURCE_MISSING, env_name, format_value
from workbench.project.files import atomic_write

PLACEHOLDER = "REPLACE_ME"
SECRETS_MOUNT = "/run/secrets/workbench"
MARKER = ".workbench-export"  # an export folder says so: only such a folder is written over
SUSPENDED_SCHEDULE = "0 0 1 1 *"  # never used: the CronJob is suspended (`kubectl create job --from`)
RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
SERVE_PORT = 8290


class ExportError(Exception):
    pass


@dataclass
class ExportResult:
    out: Path
    image: str
    manifests: list[Path] = field(default_factory=list)
    cronjobs: dict[str, str] = field(default_factory=dict)  # entry point -> CronJob name
    suspended: list[str] = field(default_factory=list)  # automations without a schedule
    services: list[str] = field(default_factory=list)  # service entry points, served by the Deployment
    missing: list[str] = field(default_factory=list)  # required configurables with no value here
    placeholders: list[str] = field(default_factory=list)  # secrets left as REPLACE_ME
    copied: list[Path] = field(default_factory=list)  # project files in the image

    def commands(self) -> list[str]:
        apply = f"kubectl apply -f {self.out}"
        return [f"podman build -t {self.image} -f {self.out / 'Containerfile'} {self.out}   "
                f"(or: docker build -t {self.image} {self.out})",
                f"podman push {self.image}   (or docker push; skip it for a local cluster that sees the image)",
                apply]


def k8s_name(*parts: str, limit: int = 52) -> str:
    """A DNS-1123 name from camelCase parts (a CronJob's name has at most 52 characters)."""
    text = "-".join(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", p) for p in parts).lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "workbench"
    if len(text) > limit:  # cut, and keep names unique with a hash of the whole
        digest = hashlib.sha256(text.encode()).hexdigest()[:6]
        text = text[: limit - 7].rstrip("-") + "-" + digest
    return text


def starting_deadline(cron: str, tz_name: str) -> int:
    """The shortest gap between two fire times: at most one missed time falls in it, so a late
    controller starts one catch-up job, as `workbench schedule` does after a gap."""
    from zoneinfo import ZoneInfo

    from croniter import croniter

    try:
        start = datetime(2026, 1, 1, tzinfo=timezone.utc).astimezone(ZoneInfo(tz_name))
        it = croniter(cron, start)
    except Exception:  # ZoneInfo and croniter raise several types; `check` names the problem
        raise ExportError(f"schedule {cron!r} in {tz_name!r} is not valid (run workbench check)") from None
    times = [it.get_next(datetime) for _ in range(64)]
    return max(60, int(min((b - a).total_seconds() for a, b in zip(times, times[1:]))))


def export_kubernetes(store, out: Path, *, image: str | None = None, namespace: str | None = None,
                      include_secrets: bool = False, env=None) -> ExportResult:
    import yaml  # only the export writes YAML

    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise ExportError(f"{out}: exists and is not an earlier export; choose another -o")
    app = k8s_name(store.name, limit=40)
    result = ExportResult(out, image or f"localhost/{app}:latest")
    resolved = store.resolve_config(env=env)
    labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/managed-by": "workbench"}

    def meta(name: str, extra: dict | None = None) -> dict:
        data: dict[str, Any] = {"name": name}
        if namespace:
            data["namespace"] = namespace
        data["labels"] = {**labels, **(extra or {})}
        return data

    config_data, secret_data = {}, {}
    for rv in resolved.values.values():
        has_value = rv.ok and rv.source not in (SOURCE_DEFAULT, SOURCE_MISSING) and rv.value != ""
        if rv.decl.required and not has_value:
            result.missing.append(rv.name)
        if rv.decl.secret:
            if has_value or rv.decl.required:  # an optional secret without a value keeps its default
                real = include_secrets and has_value
                secret_data[rv.name] = format_value(rv.value) if real else PLACEHOLDER
                if not real:
                    result.placeholders.append(rv.name)
        elif has_value:
            config_data[env_name(rv.name)] = format_value(rv.value)
    names = {"config": f"{app}-config", "secret": f"{app}-secrets"}
    docs: dict[str, tuple[dict, str]] = {}
    missing_plain = [n for n in result.missing if not store.project.configurables[n].secret]
    header = "".join(f"# REQUIRED, no value on the exporting machine: add {env_name(n)} (configurable {n})\n"
                     for n in missing_plain)
    docs["configmap.yaml"] = ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(names["config"]),
                               "data": config_data}, header)
    if secret_data:
        note = ("# Real values: written by --include-secrets. Keep this file out of git.\n" if include_secrets
                else f"# Replace each {PLACEHOLDER}, or create the Secret with kubectl (see docs/deploy.md).\n")
        docs["secret.yaml"] = ({"apiVersion": "v1", "kind": "Secret", "metadata": meta(names["secret"]),
                                "type": "Opaque", "stringData": secret_data}, note)
    for entry_name, entry in store.project.entrypoints.items():
        if entry.kind == "service":
            result.services.append(entry_name)
            continue
        job = k8s_name(app, entry_name)
        result.cronjobs[entry_name] = job
        if entry.schedule is None:
            result.suspended.append(entry_name)
        try:
            spec = _cronjob(entry_name, entry, result.image, names, sorted(secret_data),
                            {**labels, "workbench/entry": entry_name})
        except ExportError as exc:
            line = store.line_of(("entrypoints", entry_name, "schedule")) or 1
            raise ExportError(f"{store.project_file.path}:{line}: entrypoints.{entry_name}: {exc}") from None
        docs[f"cronjob-{k8s_name(entry_name)}.yaml"] = ({"apiVersion": "batch/v1", "kind": "CronJob",
                                                        "metadata": meta(job, {"workbench/entry": entry_name}),
                                                        "spec": spec}, "")
    if result.services:
        serve = k8s_name(app, "serve")
        serve_labels = {**labels, "workbench/role": "serve"}
        # --allow-remote: the pod listens on all its addresses; the Service is what reaches it.
        command = ["workbench", "serve", PROJECT_MOUNT, "--host", "0.0.0.0", "--allow-remote",
                   "--port", str(SERVE_PORT), "--json"]
        pod = _pod(command, result.image, names, sorted(secret_data), restart="Always")
        pod["containers"][0]["ports"] = [{"name": "http", "containerPort": SERVE_PORT}]
        pod["containers"][0]["readinessProbe"] = {"tcpSocket": {"port": "http"}, "periodSeconds": 5}
        docs["deployment-serve.yaml"] = ({"apiVersion": "apps/v1", "kind": "Deployment",
                                          "metadata": meta(serve, {"workbench/role": "serve"}),
                                          "spec": {"replicas": 1, "selector": {"matchLabels": serve_labels},
                                                   "template": {"metadata": {"labels": serve_labels},
                                                                "spec": pod}}}, "")
        docs["service.yaml"] = ({"apiVersion": "v1", "kind": "Service", "metadata": meta(app),
                                 "spec": {"selector": serve_labels,
                                          "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}, "")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.yaml"):  # an entry point removed since the last export
        if old.name not in docs:
            old.unlink()
    for file_name, (doc, comment) in docs.items():
        path = out / file_name
        text = comment + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
        atomic_write(path, text, mode=0o600 if file_name == "secret.yaml" and include_secrets else None)
        result.manifests.append(path)
    result.copied = write_context(store.root, out)
    atomic_write(out / MARKER, "written by `workbench export kubernetes`\n")
    return result


def _pod(command: list[str], image: str, names: dict, secrets: list[str], *, restart: str) -> dict:
    """The pod of a job or of the server: non-root, values from the ConfigMap, secrets as files."""
    container: dict[str, Any] = {
        "name": "workbench",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "envFrom": [{"configMapRef": {"name": names["config"]}}],
        "resources": RESOURCES,
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "state", "mountPath": f"{PROJECT_MOUNT}/.workbench"}],
    }
    volumes: list[dict] = [{"name": "state", "emptyDir": {}}]  # run history: the logs keep the events
    if secrets:
        container["env"] = [{"name": env_name(n) + "_FILE", "value": f"{SECRETS_MOUNT}/{n}"} for n in secrets]
        container["volumeMounts"].append({"name": "secrets", "mountPath": SECRETS_MOUNT, "readOnly": True})
        # 0440 and fsGroup: readable by the job's user only, not the world.
        volumes.append({"name": "secrets", "secret": {"secretName": names["secret"], "defaultMode": 0o440}})
    return {
        "restartPolicy": restart,
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID, "fsGroup": UID,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": volumes,
    }


def _cronjob(entry_name: str, entry, image: str, names: dict, secrets: list[str], labels: dict) -> dict:
    scheduled = entry.schedule is not None
    # --json: the events go to the cluster's logs; the exit code is the Job's status.
    pod = _pod(["workbench", "run", PROJECT_MOUNT, "--entry", entry_name, "--json"], image, names, secrets,
               restart="Never")
    return {
        "schedule": entry.schedule if scheduled else SUSPENDED_SCHEDULE,
        "timeZone": entry.timezone,
        "concurrencyPolicy": "Forbid",  # never two runs of one automation at once
        **({"startingDeadlineSeconds": starting_deadline(entry.schedule, entry.timezone)} if scheduled else {}),
        "suspend": not scheduled,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": {
            "metadata": {"labels": labels},
            # A failed run is not started again at once: the next fire time runs it, as locally.
            "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": labels},
                                                     "spec": pod}},
        },
    }
