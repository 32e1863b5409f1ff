"""The inference command (also python -m inference): add, inspect, verify, train, export, audit.

Every subcommand takes ``--model-dir`` (default ``$MODEL_DIR`` or ``artifacts``) and exits
non-zero with a one-line reason when it cannot do what it was asked."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from inference import config, export, train
from inference.core.errors import ManifestError
from inference.core.publish import PublishError

# What a command can fail with for a reason it can state in one line (unreadable file, unfitted
# estimator, a sample that does not fit, an unsupported flavour, a broken manifest).
EXPECTED = (ValueError, OSError, LookupError, ManifestError, PublishError, export.ExportError)


def _model_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-dir", default=config.model_dir(),
                        help="model repository (default: $MODEL_DIR or ./artifacts)")


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def cmd_add(args: argparse.Namespace) -> int:
    """inference add: write the model at PATH as the next version of NAME, and say what was checked."""
    from inference.importing.add import add

    folder, cand = add(args.path, args.name, args.model_dir, sample_path=args.sample, features=args.features,
                       labels=args.labels, task=args.task, trust=args.trust)
    print(f"added {args.name} version {folder.name} in {folder.parent.parent}")
    shown = ", ".join(f"{f}: {cand.types[f]['type']}" for f in cand.features[:8])
    more = ", ..." if len(cand.features) > 8 else ""
    print(f"  {cand.framework} {cand.task} on {len(cand.features)} features ({shown}{more})")
    if cand.labels:
        print(f"  labels: {', '.join(cand.labels)}")
    if cand.trusted_types:
        print(f"  skops types trusted (confirmed with --trust): {', '.join(cand.trusted_types)}")
    for note in cand.notes:
        print(f"  {note}")
    print(f"  golden outputs recorded for {len(cand.golden_rows())} rows; reload the server (kill -HUP) to serve it")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    """inference inspect: what a version is, from its manifest; exit 1 when a file fails its hash."""
    from inference.verify import describe, resolve

    info = describe(resolve(args.model_dir, args.model))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for key, value in info.items():
        if key == "signature" and isinstance(value, list):
            print("signature:")
            for feature in value:
                categories = f" {feature['categories']}" if feature.get("categories") else ""
                print(f"  {feature['name']}: {feature['type']}{categories}")
        elif key == "files":
            print("files:")
            for file, check in value.items():
                print(f"  {file}  sha256 {check['sha256']}  {check['check']}")
        elif value not in (None, [], {}):
            print(f"{key}: {json.dumps(value) if isinstance(value, (dict, list)) else value}")
    return 0 if all(c["check"] == "ok" for c in info["files"].values()) else 1


def cmd_verify(args: argparse.Namespace) -> int:
    """inference verify: replay golden outputs in-process or against --url; exit 1 on a mismatch."""
    from inference.verify import every_version, replay_local, replay_remote, resolve

    specs = args.models or every_version(args.model_dir)
    if not specs:  # a mistyped --model-dir must not pass a deployment check
        print(f"inference verify: error: no model versions in {args.model_dir} (set --model-dir or MODEL_DIR)",
              file=sys.stderr)
        return 1
    failed = 0
    for spec in specs:
        m = resolve(args.model_dir, spec)
        where = args.url or "in-process"
        try:
            diff = replay_remote(m, args.url, args.api_key) if args.url else replay_local(m)
        except Exception as exc:  # one version's failure must not hide the others'
            print(f"{m.key}: FAILED ({where}): {type(exc).__name__}: {exc}")
            failed += 1
            continue
        if diff is None:
            print(f"{m.key}: no golden outputs to replay")
        elif diff <= m.golden["tolerance"]:
            print(f"{m.key}: ok ({where}): largest difference {diff:.3g} <= {m.golden['tolerance']:g} "
                  f"over {len(m.golden['inputs'])} rows")
        else:
            print(f"{m.key}: MISMATCH ({where}): largest difference {diff:.3g} > {m.golden['tolerance']:g}")
            failed += 1
    return 1 if failed else 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """inference audit verify: check every line of an audit log; exit 1 when one fails."""
    from inference.audit import verify

    with open(args.file, "rb") as fh:
        verdict = verify(fh, check_inputs=args.inputs)
    for number, problem in verdict.problems[:args.show]:
        print(f"{args.file}:{number}: {problem}")
    if len(verdict.problems) > args.show:
        print(f"... {len(verdict.problems) - args.show} more problems")
    inputs = ""
    if args.inputs:
        inputs = f"; input hashes checked on {verdict.inputs_checked} lines ({verdict.inputs_absent} without inputs)"
    state = "ok" if verdict.ok else ("EMPTY" if not verdict.lines else f"{len(verdict.problems)} PROBLEMS")
    print(f"{args.file}: {verdict.lines} lines, {state}{inputs}")
    return 0 if verdict.ok else 1


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="inference", description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("add", help="add a model file or MLflow directory as the next version of NAME")
    p.add_argument("path", help="a joblib/pickle/skops file, an .onnx file, or an MLflow model directory")
    p.add_argument("--name", required=True, help="the model's name in the repository")
    p.add_argument("--sample", help="CSV (with a header) or JSON rows of real inputs; needed when the model "
                                    "carries no example")
    p.add_argument("--features", type=_list, help="feature names in the model's order, comma separated")
    p.add_argument("--labels", type=_list, help="class labels in the order of the model's outputs")
    p.add_argument("--task", choices=("classification", "regression"))
    p.add_argument("--trust", type=_list, default=[], help="types a skops file may build beyond skops' defaults")
    _model_dir(p)
    p.set_defaults(run=cmd_add)

    p = sub.add_parser("inspect", help="show what a version is, from its manifest (nothing is deserialised)")
    p.add_argument("model", metavar="NAME[/VERSION]")
    p.add_argument("--json", action="store_true", help="print JSON")
    _model_dir(p)
    p.set_defaults(run=cmd_inspect)

    p = sub.add_parser("verify", help="replay golden outputs in-process, or against a running server (--url)")
    p.add_argument("models", nargs="*", metavar="NAME[/VERSION]", help="default: every version of every model")
    p.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8000")
    p.add_argument("--api-key", default=os.environ.get("API_KEY"), help="the server's API key (default $API_KEY)")
    _model_dir(p)
    p.set_defaults(run=cmd_verify)

    p = sub.add_parser("audit", help="check an audit log (AUDIT_LOG)")
    audit = p.add_subparsers(dest="audit_command", required=True)
    p = audit.add_parser("verify", help="every line complete, JSON, with its fields; every hash well-formed and "
                                        "matching what the line holds")
    p.add_argument("file", help="the audit log")
    p.add_argument("--inputs", action="store_true", help="also check each logged input against its input_sha256 "
                                                         "(lines written with AUDIT_INPUTS=1)")
    p.add_argument("--show", type=int, default=20, help="problems to print (default 20)")
    p.set_defaults(run=cmd_audit_verify)

    p = sub.add_parser("train", help="build the bundled models")
    train.add_arguments(p)
    p.set_defaults(run=lambda args: train.run(args, p))

    p = sub.add_parser("export", help="export a PyTorch version to TorchScript or ONNX as a new version")
    export.add_arguments(p)
    p.set_defaults(run=export.run)
    return top


def main(argv: list[str] | None = None) -> Any:
    """Run one subcommand; errors are one line on stderr and exit status 1."""
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except EXPECTED as exc:
        print(f"inference {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
