"""PyTorch eager vs TorchScript vs ONNX Runtime: latency of one predict call, in-process,
for one row and a batch of 256, on iris-mlp and digits-cnn (``make bench-formats``).

    python -m bench.formats [--model-dir artifacts] [--repeat 2000]

Each format is exported from the same version into a scratch copy of the repository (with the
export's own parity check), loaded as the server loads it, and timed on one thread.
"""

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from inference.core.manifest import read_manifest
from inference.core.runtimes import runtime_for
from inference.export import export
from inference.train import held_out

MODELS = ("iris-mlp", "digits-cnn")
FORMATS = {1: "pytorch (eager)", 2: "torchscript", 3: "onnxruntime"}


def time_call(fn, repeat):
    """Median and p99 seconds of ``fn()`` over ``repeat`` calls, after a warm-up."""
    for _ in range(max(20, repeat // 20)):
        fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times), times[int(0.99 * (len(times) - 1))]


def main(argv=None):
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "artifacts"))
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    scratch = Path(tempfile.mkdtemp(prefix="formats-"))
    lines = ["| model | rows | format | median µs | p99 µs | × eager (median) |", "|---|---:|---|---:|---:|---:|"]
    for name in MODELS:
        shutil.copytree(Path(args.model_dir) / name / "1", scratch / name / "1")
        export(scratch, name, "torchscript", 1)
        export(scratch, name, "onnx", 1)
        data = held_out(name)
        for rows in (1, 256):
            x = np.resize(data, (rows, data.shape[1])).astype(np.float64)
            eager = None
            for version, label in FORMATS.items():
                p = runtime_for(read_manifest(scratch / name / str(version))).load()
                median, p99 = time_call(lambda p=p, x=x: p.predict(x), args.repeat if rows == 1 else args.repeat // 4)
                eager = eager or median
                lines.append(f"| {name} | {rows} | {label} | {median * 1e6:,.1f} | {p99 * 1e6:,.1f} | "
                             f"{eager / median:.2f} |")
    shutil.rmtree(scratch, ignore_errors=True)
    print("\n".join(lines))
    print("\n× eager: how many times faster than PyTorch eager (higher is better); one thread, one process.")


if __name__ == "__main__":
    main()
