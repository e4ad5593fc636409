"""`workbench export kubernetes`: manifests valid against the Kubernetes schema (kubernetes-validate,
offline), the CronJob's fields, no secret in any file unless --include-secrets, the Containerfile's
syntax and what it copies, and a run as the CronJob's container would make it, against the sandbox."""

from __future__ import annotations

import fnmatch
import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from tests.helpers import ROOT, copy_sample
from workbench.cli import main
from workbench.deploy.kubernetes import PLACEHOLDER, SECRETS_MOUNT

K8S_VERSION = "1.30.0"  # pinned: CronJob.spec.timeZone is GA since 1.27
SECRET = "s3cret-Export-Value-91"
KNOWN = {"FROM", "ENV", "COPY", "RUN", "USER", "WORKDIR", "CMD", "LABEL", "ARG"}


def write_config(project: Path, **values: str) -> None:
    values = {"scimServiceUrl": "https://idp.example.com/scim2", "scimTokenUrl": "https://idp.example.com/token",
              "scimClientId": "client-1", "scimClientSecret": SECRET, **values}
    (project / "Config.toml").write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))


def export(capsys, project: Path, out: Path, *more: str) -> tuple[int, str, str]:
    code = main(["export", "kubernetes", str(project), "-o", str(out), *more])
    stdout, stderr = capsys.readouterr()
    return code, stdout, stderr


def manifests(out: Path) -> dict[str, dict]:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(out.glob("*.yaml"))}


def all_text(out: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in out.rglob("*") if p.is_file())


@pytest.mark.parametrize("sample, entry, schedule", [
    ("scim-provisioning", "provisionUser", "0 9 * * 1-5"),
    ("bulk-onboarding", "onboardNewHires", None),
])
def test_export_is_valid_kubernetes_and_holds_no_secret(tmp_path, capsys, sample, entry, schedule):
    project = copy_sample(sample, tmp_path)
    write_config(project)
    code, stdout, _ = export(capsys, project, tmp_path / "out", "--image", "registry.example/wb:1",
                             "--namespace", "idm")
    assert code == 0, stdout
    docs = manifests(tmp_path / "out")
    for name, doc in docs.items():
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises on any schema error
        assert doc["metadata"]["namespace"] == "idm", name
    [cron] = [d for d in docs.values() if d["kind"] == "CronJob"]
    spec = cron["spec"]
    assert spec["concurrencyPolicy"] == "Forbid" and spec["timeZone"] == "UTC"
    assert spec["suspend"] is (schedule is None)
    if schedule:
        assert spec["schedule"] == schedule and spec["startingDeadlineSeconds"] == 86400  # one weekday apart
    else:
        assert "startingDeadlineSeconds" not in spec and "kubectl create job --from=cronjob/" in stdout
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert pod["restartPolicy"] == "Never" and pod["securityContext"]["runAsNonRoot"] is True
    assert container["command"] == ["workbench", "run", "/project", "--entry", entry, "--json"]
    assert container["image"] == "registry.example/wb:1"
    assert set(container["resources"]) == {"requests", "limits"}
    assert {"name": "WB_VAR_SCIMCLIENTSECRET_FILE", "value": f"{SECRETS_MOUNT}/scimClientSecret"} in container["env"]
    config = next(d for d in docs.values() if d["kind"] == "ConfigMap")
    assert config["data"]["WB_VAR_SCIMSERVICEURL"] == "https://idp.example.com/scim2"
    secret = next(d for d in docs.values() if d["kind"] == "Secret")
    assert secret["stringData"] == {"scimClientSecret": PLACEHOLDER}
    assert SECRET not in all_text(tmp_path / "out") and SECRET not in stdout
    assert "kubectl apply -f" in stdout and "podman build" in stdout and "docker build" in stdout


def test_include_secrets_writes_them_with_a_warning(tmp_path, capsys):
    project = copy_sample("scim-provisioning", tmp_path)
    write_config(project)
    code, stdout, stderr = export(capsys, project, tmp_path / "out", "--include-secrets")
    assert code == 0 and "warning" in stderr and SECRET not in stdout + stderr
    secret_file = tmp_path / "out" / "secret.yaml"
    assert yaml.safe_load(secret_file.read_text())["stringData"]["scimClientSecret"] == SECRET
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    # Only there: the image's build context never gets it.
    assert SECRET not in all_text(tmp_path / "out" / "build")
    assert "*.yaml" in (tmp_path / "out" / ".containerignore").read_text().splitlines()


def test_missing_required_values_are_listed(tmp_path, capsys):
    project = copy_sample("scim-provisioning", tmp_path)
    (project / "Config.toml").write_text('scimClientId = "client-1"\n')
    code, stdout, _ = export(capsys, project, tmp_path / "out")
    assert code == 0
    for name in ("scimServiceUrl", "scimTokenUrl", "scimClientSecret"):
        assert f"missing-value: required configurable {name} has no value" in stdout
    assert "scimClientId has no value" not in stdout and "newUserName" not in stdout  # it has a default
    assert "WB_VAR_SCIMSERVICEURL" in (tmp_path / "out" / "configmap.yaml").read_text()


def test_an_export_refuses_a_folder_that_is_not_one(tmp_path, capsys):
    project = copy_sample("scim-provisioning", tmp_path)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    code, _, stderr = export(capsys, project, tmp_path / "busy")
    assert code == 2 and "not an earlier export" in stderr
    assert export(capsys, project, tmp_path / "out")[0] == 0
    assert export(capsys, project, tmp_path / "out")[0] == 0  # an export is written over


def _ignored(relative: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(relative, p.removeprefix("**/"))
               or any(fnmatch.fnmatch(part, p.removeprefix("**/")) for part in Path(relative).parts)
               for p in patterns if p)


def test_containerfile_parses_and_copies_no_values_or_state(tmp_path, capsys):
    project = copy_sample("bulk-onboarding", tmp_path)
    write_config(project)
    (project / "Config-secrets.toml").write_text(f'scimClientSecret = "{SECRET}"\n')
    (project / ".workbench" / "runs").mkdir(parents=True)
    (project / ".workbench" / "runs" / "x.jsonl").write_text(SECRET)
    (project / ".env").write_text(f"WB_VAR_SCIMCLIENTSECRET={SECRET}\n")
    (project / "data").mkdir()
    (project / "data" / "extra.json").write_text("[]")
    out = tmp_path / "out"
    assert export(capsys, project, out)[0] == 0
    with open(out / "Containerfile", "rb") as f:
        parser = DockerfileParser(fileobj=f)
        structure = parser.structure
    structure = [i for i in structure if i["instruction"] != "COMMENT"]
    instructions = [i["instruction"] for i in structure]
    assert set(instructions) <= KNOWN and all(i["value"].strip() for i in structure)
    assert json.loads(next(i["value"] for i in structure if i["instruction"] == "CMD"))  # exec form
    assert instructions[0] == "FROM" and "USER" in instructions and "CMD" in instructions
    user = next(i["value"] for i in structure if i["instruction"] == "USER")
    assert user.split(":")[0] not in ("0", "root")
    ignore = (out / ".containerignore").read_text().splitlines()
    copied = set()
    for i in structure:
        if i["instruction"] == "COPY":
            *sources, _ = [a for a in i["value"].split() if not a.startswith("--")]
            for source in sources:
                for path in (out / source).rglob("*"):
                    relative = path.relative_to(out).as_posix()
                    if path.is_file() and not _ignored(relative, ignore):
                        copied.add(relative)
    projects = {p.removeprefix("build/project/") for p in copied if p.startswith("build/project/")}
    assert projects == {"workbench.toml", "new-hires.csv", "data/extra.json"}
    assert any(p.startswith("build/workbench/workbench/cli/") for p in copied)
    assert "build/workbench/pyproject.toml" in copied
    assert not any(Path(p).name in ("Config.toml", "Config-secrets.toml") or ".workbench" in p for p in copied)
    assert SECRET not in all_text(out)


def test_the_exported_job_runs_with_a_mounted_secret_file(tmp_path, capsys, sandbox):
    """What the CronJob's container does: the image's project (no Config.toml), the ConfigMap as
    WB_VAR_* variables, the Secret as a 0400 file named by WB_VAR_SCIMCLIENTSECRET_FILE."""
    project = copy_sample("scim-provisioning", tmp_path)
    user = f"k8s-{uuid.uuid4().hex[:10]}@example.com"
    write_config(project, scimServiceUrl=sandbox.service_url, scimTokenUrl=sandbox.token_url,
                 scimClientId=sandbox.client_id, scimClientSecret=sandbox.client_secret, newUserName=user)
    out = tmp_path / "out"
    assert export(capsys, project, out)[0] == 0
    docs = manifests(out)
    image_project = out / "build" / "project"
    assert not (image_project / "Config.toml").exists()
    secrets_dir = tmp_path / "run-secrets"
    secrets_dir.mkdir()
    for name in docs["secret.yaml"]["stringData"]:  # the operator replaces REPLACE_ME
        (secrets_dir / name).write_text(sandbox.client_secret + "\n")
        (secrets_dir / name).chmod(0o400)
    container = docs["cronjob-provision-user.yaml"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **docs["configmap.yaml"]["data"]}
    env |= {e["name"]: e["value"].replace(SECRETS_MOUNT, str(secrets_dir)) for e in container["env"]}
    command = container["command"]
    assert command[:3] == ["workbench", "run", "/project"]
    done = subprocess.run([sys.executable, "-m", "workbench", "run", str(image_project), *command[3:]],
                          env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[-1]["event"] == "run.finished" and events[-1]["status"] == "succeeded"
    assert sandbox.client_secret not in done.stdout + done.stderr


def test_starting_deadline_is_the_shortest_gap_and_bad_schedules_are_named(tmp_path, capsys):
    from workbench.deploy.kubernetes import starting_deadline

    assert starting_deadline("*/5 * * * *", "UTC") == 300
    assert starting_deadline("0 9 * * 1-5", "Europe/Oslo") == 86400
    project = copy_sample("scim-provisioning", tmp_path)
    text = (project / "workbench.toml").read_text().replace('timezone = "UTC"', 'timezone = "Mars/Olympus"')
    (project / "workbench.toml").write_text(text)
    code, _, stderr = export(capsys, project, tmp_path / "out")
    assert code == 2 and f"{project / 'workbench.toml'}:" in stderr and "entrypoints.provisionUser" in stderr
    assert "Traceback" not in stderr and not (tmp_path / "out").exists()


def test_service_entry_points_get_a_deployment_and_a_service(tmp_path, capsys):
    project = copy_sample("hr-webhook", tmp_path)
    write_config(project, hookToken="hook-" + SECRET)
    code, stdout, _ = export(capsys, project, tmp_path / "out")
    assert code == 0, stdout
    docs = manifests(tmp_path / "out")
    for doc in docs.values():
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    assert not [d for d in docs.values() if d["kind"] == "CronJob"]  # the sample has only a service
    [deployment] = [d for d in docs.values() if d["kind"] == "Deployment"]
    [service] = [d for d in docs.values() if d["kind"] == "Service"]
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["command"][:3] == ["workbench", "serve", "/project"] and "--allow-remote" in container["command"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["restartPolicy"] == "Always"
    assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    assert service["spec"]["ports"][0]["targetPort"] == "http" == container["ports"][0]["name"]
    assert {"name": "WB_VAR_HOOKTOKEN_FILE", "value": f"{SECRETS_MOUNT}/hookToken"} in container["env"]
    assert SECRET not in all_text(tmp_path / "out") and "deployment-serve.yaml" in stdout
