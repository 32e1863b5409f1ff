"""Export a PyTorch model version to TorchScript or ONNX as a new version
(``python -m inference.export MODEL --format torchscript|onnx``).

The exported model is checked on the held-out data before anything is written: its outputs
(probabilities for classifiers, values for regressors) must match the source version's within
TOLERANCE. The check is printed and recorded in the new manifest, beside the source's name,
version and hash. Preprocessing (standardisation) stays in the manifest, so the exported file
holds the same network as the state_dict.
"""

import argparse
import logging
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from inference.core.manifest import read_manifest, sha256_file, version_dirs, write_manifest
from inference.core.registry import LATEST, parse_version
from inference.core.runtimes import runtime_for

log = logging.getLogger("inference.export")
TOLERANCE = 1e-5
FILES = {"torchscript": "model.ts", "onnx": "model.onnx"}
ONNX_OPSET = 17


class ExportError(Exception):
    """The export could not be made, or does not match its source."""


def _write_torchscript(module, example, path):
    import warnings

    import torch

    with warnings.catch_warnings():  # PyTorch 2.13 marks TorchScript deprecated (see the README)
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(module, example)
        torch.jit.save(torch.jit.freeze(traced.eval()), str(path))  # weights folded in as constants


def _write_onnx(module, example, path):
    import warnings

    import torch

    with warnings.catch_warnings():  # the TorchScript-based exporter announces its deprecation
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module, (example,), str(path), input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=ONNX_OPSET,
                          dynamo=False)


WRITERS = {"torchscript": _write_torchscript, "onnx": _write_onnx}


def export(model_dir, name, fmt, source_version=LATEST, rows=None):
    """Export ``name`` (a pytorch version) to ``fmt`` as the next version; return its folder."""
    import torch

    from inference.train import held_out

    versions = version_dirs(model_dir, name)
    if not versions:
        raise ExportError(f"no model {name!r} in {model_dir}")
    wanted = parse_version(source_version)
    version = max(versions) if wanted == LATEST else wanted
    if version not in versions:
        raise ExportError(f"{name} has no version {source_version}")
    manifest = read_manifest(versions[version])
    if manifest.framework != "pytorch":
        raise ExportError(f"{name}/{version} is {manifest.framework}; only pytorch versions are exported")
    source = runtime_for(manifest).load()
    x = np.asarray(rows if rows is not None else held_out(name), dtype=np.float64)
    example = torch.from_numpy(np.ascontiguousarray(source.preprocess(x[:2]), dtype=np.float32))

    new_version = max(versions) + 1
    tmp = Path(model_dir) / name / f".tmp-{new_version}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        path = tmp / FILES[fmt]
        WRITERS[fmt](source.model, example, path)
        new = {**_public(manifest), "version": new_version, "framework": fmt, "file": path.name,
               "sha256": sha256_file(path), "created": datetime.now(UTC).isoformat(timespec="seconds"),
               "source": {"model": name, "version": version, "framework": "pytorch", "sha256": manifest.sha256}}
        new.pop("architecture", None)
        write_manifest(tmp, new)
        exported = runtime_for(read_manifest(tmp, check_location=False)).load()
        expected, got = source.predict(x), exported.predict(x)
        diff = float(np.abs(np.asarray(got, np.float64) - np.asarray(expected, np.float64)).max())
        parity = {"rows": len(x), "data": "held-out split" if rows is None else "given rows",
                  "max_abs_diff": diff, "tolerance": TOLERANCE, "passed": diff <= TOLERANCE}
        if manifest.task == "classification":
            parity["argmax_agreement"] = float((got.argmax(1) == expected.argmax(1)).mean())
        print(f"{name} v{version} -> {fmt} v{new_version}: max |difference| {diff:.3g} over {len(x)} held-out rows "
              f"(tolerance {TOLERANCE:g}): {'ok' if parity['passed'] else 'MISMATCH'}")
        if not parity["passed"]:
            raise ExportError(f"the {fmt} export differs from the source by {diff:.3g} > {TOLERANCE:g}; not written")
        new["parity"] = parity
        write_manifest(tmp, new)
        final = Path(model_dir) / name / str(new_version)
        os.rename(tmp, final)
        return final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _public(manifest):
    fields = ("name", "version", "framework", "task", "file", "sha256", "architecture", "inputs", "outputs",
              "preprocessing", "data", "metrics", "serving")
    return {k: getattr(manifest, k) for k in fields if getattr(manifest, k) is not None}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m inference.export", description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--format", required=True, choices=sorted(WRITERS))
    parser.add_argument("--version", default=LATEST, help="source version (default: the latest)")
    parser.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "artifacts"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        path = export(args.model_dir, args.model, args.format, args.version)
    except ExportError as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return 1
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
