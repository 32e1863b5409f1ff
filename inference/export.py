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
import sys
from datetime import UTC, datetime

import numpy as np

from inference import config
from inference.core.errors import ManifestError
from inference.core.manifest import MAX_GOLDEN_ROWS, find_version, read_manifest, sha256_file, write_manifest
from inference.core.publish import publish
from inference.core.registry import LATEST
from inference.core.runtimes import runtime_for
from inference.importing.candidate import PARITY_TOLERANCE

log = logging.getLogger("inference.export")
TOLERANCE = PARITY_TOLERANCE
FILES = {"torchscript": "model.ts", "onnx": "model.onnx"}


class ExportError(Exception):
    """The export could not be made, or does not match its source."""


def _write_torchscript(module, example, path):
    import warnings

    import torch

    with warnings.catch_warnings():  # PyTorch 2.13 marks TorchScript deprecated (docs/models.md, "Formats")
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(module, example)
        torch.jit.save(torch.jit.freeze(traced.eval()), str(path))  # weights folded in as constants


def _write_onnx(module, example, path):
    from inference.importing.torch import write_onnx  # the one torch -> ONNX conversion

    write_onnx(module, example, path)


WRITERS = {"torchscript": _write_torchscript, "onnx": _write_onnx}


def export(model_dir, name, fmt, source_version=LATEST, rows=None):
    """Export ``name`` (a pytorch version) to ``fmt`` as the next version; return its folder."""
    import torch

    from inference.train import held_out

    try:
        manifest = find_version(model_dir, name, source_version)
    except ManifestError as exc:
        raise ExportError(str(exc)) from None
    version = manifest.version
    if manifest.framework != "pytorch":
        raise ExportError(f"{name}/{version} is {manifest.framework}; only pytorch versions are exported")
    source = runtime_for(manifest, use_compiled=False).load()  # the eager network, not its ONNX twin
    x = np.asarray(rows if rows is not None else held_out(name), dtype=np.float64)
    example = torch.from_numpy(np.ascontiguousarray(source.preprocess(x[:2]), dtype=np.float32))

    def write(folder):
        path = folder / FILES[fmt]
        WRITERS[fmt](source.model, example, path)
        new = {**_public(manifest), "framework": fmt, "file": path.name, "sha256": sha256_file(path),
               "created": datetime.now(UTC).isoformat(timespec="seconds"),
               "source": {"model": name, "version": version, "framework": "pytorch", "sha256": manifest.sha256}}
        if manifest.reference:  # the same network, trained on the same data
            new["reference"] = manifest.reference
        new.pop("architecture", None)
        new.pop("version", None)
        write_manifest(folder, {**new, "name": name, "version": 1})
        exported = runtime_for(read_manifest(folder, check_location=False)).load()
        expected, got = source.predict(x), exported.predict(x)
        diff = float(np.abs(np.asarray(got, np.float64) - np.asarray(expected, np.float64)).max())
        parity = {"rows": len(x), "data": "held-out split" if rows is None else "given rows",
                  "max_abs_diff": diff, "tolerance": TOLERANCE, "passed": diff <= TOLERANCE}
        if manifest.task == "classification":
            parity["argmax_agreement"] = float((got.argmax(1) == expected.argmax(1)).mean())
        print(f"{name} v{version} -> {fmt}: max |difference| {diff:.3g} over {len(x)} held-out rows "
              f"(tolerance {TOLERANCE:g}): {'ok' if parity['passed'] else 'MISMATCH'}")
        if not parity["passed"]:
            raise ExportError(f"the {fmt} export differs from the source by {diff:.3g} > {TOLERANCE:g}; not written")
        return {**new, "parity": parity}

    return publish(model_dir, name, write, golden_rows=x[:MAX_GOLDEN_ROWS].tolist(), reference_rows=x,
                   reference_source="held-out rows" if rows is None else "export rows")


def _public(manifest):
    fields = ("name", "version", "framework", "task", "file", "sha256", "architecture", "inputs", "outputs",
              "preprocessing", "data", "metrics", "serving")  # not golden: the export records its own
    return {k: getattr(manifest, k) for k in fields if getattr(manifest, k) is not None}


def add_arguments(parser):
    """The options of ``inference export`` (also ``python -m inference.export``)."""
    parser.add_argument("model")
    parser.add_argument("--format", required=True, choices=sorted(WRITERS))
    parser.add_argument("--version", default=LATEST, help="source version (default: the latest)")
    parser.add_argument("--model-dir", default=config.model_dir(),
                        help="model repository (default: $MODEL_DIR or ./artifacts)")


def main(argv=None):
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m inference.export", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args, parser=None):
    """Export the version the arguments name."""
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
