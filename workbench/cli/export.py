"""`workbench export kubernetes DIR [-o OUT] [--image IMAGE] [--namespace NS] [--include-secrets]`:
YAML manifests (a CronJob per automation, a ConfigMap, a Secret) and a Containerfile."""

from __future__ import annotations

import sys
from pathlib import Path

from workbench.cli.common import CliError, open_store, run_guarded


def configure(parser) -> None:
    parser.add_argument("target", choices=["kubernetes"], help="where to: kubernetes")
    parser.add_argument("dir", metavar="DIR", help="project folder")
    parser.add_argument("-o", "--output", metavar="OUT", help="folder to write (default: ./<project>-kubernetes)")
    parser.add_argument("--image", help="the image name to build and run (default: localhost/<project>:latest)")
    parser.add_argument("--namespace", metavar="NS", help="the namespace of every object (default: kubectl's)")
    parser.add_argument("--include-secrets", action="store_true",
                        help="write the real secret values into secret.yaml (default: REPLACE_ME)")


def run(args) -> int:
    return run_guarded(_run, args)


def _run(args) -> int:
    from workbench.deploy.kubernetes import PLACEHOLDER, ExportError, export_kubernetes, k8s_name

    store = open_store(args.dir)
    for f in store.files:
        if f.error:
            raise CliError(f"{f.error} (fix it first)")
    if store.load_diagnostics and any(d.severity == "error" for d in store.load_diagnostics):
        d = next(d for d in store.load_diagnostics if d.severity == "error")
        raise CliError(f"{store.root / d.file}:{d.line or 1}: {d.message} (run workbench check {args.dir})")
    if args.namespace and k8s_name(args.namespace, limit=63) != args.namespace:
        raise CliError(f"--namespace {args.namespace!r}: use lowercase letters, digits and -")
    out = Path(args.output or f"{k8s_name(store.name, limit=40)}-kubernetes")
    if args.include_secrets:
        print(f"workbench: warning: {out / 'secret.yaml'} will hold secret values in clear: keep it out of git "
              "and delete it once applied", file=sys.stderr)
    try:
        result = export_kubernetes(store, out, image=args.image, namespace=args.namespace,
                                   include_secrets=args.include_secrets)
    except ExportError as exc:
        raise CliError(str(exc)) from None
    for path in result.manifests:
        print(f"wrote {path}")
    print(f"wrote {out / 'Containerfile'} (with {len(result.copied)} project file(s); never Config.toml, "
          "secrets or .workbench/)")
    if not result.cronjobs and not result.services:
        print("note: the project has no automation and no service: there is nothing to run")
    if result.services:
        print(f"note: {', '.join(result.services)} served by deployment-serve.yaml; service.yaml reaches them "
              "on port 80 in the cluster")
    for name in result.suspended:
        print(f"note: {name} has no schedule: its CronJob is suspended; run it with "
              f"kubectl create job --from=cronjob/{result.cronjobs[name]} {result.cronjobs[name]}-1")
    for name in result.missing:
        print(f"missing-value: required configurable {name} has no value "
              + ("(a placeholder in secret.yaml)" if store.project.configurables[name].secret
                 else "(add it to configmap.yaml)"))
    placeholders = [n for n in result.placeholders if n not in result.missing]
    if placeholders:
        print(f"secret.yaml holds {PLACEHOLDER} for: {', '.join(placeholders)} (replace them, or see docs/deploy.md)")
    print("next:")
    for command in result.commands():
        print(f"  {command}")
    return 0
