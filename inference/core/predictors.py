"""Model runtimes: ``load()`` once, then ``predict(matrix)`` many times, thread-safely.

preprocess (standardise) -> forward (one caller at a time, optionally coalesced) -> probabilities
or outputs. Parsing and serialising stay outside the lock; only the model call is serialised.
"""

import logging
import time

import numpy as np

from inference.core.batching import DEFAULT_MAX_ROWS, runner_for
from inference.core.errors import OutOfRange
from inference.core.manifest import Manifest

log = logging.getLogger(__name__)


class Predictor:
    """Base runtime for one model version described by a manifest."""

    framework = None

    def __init__(self, manifest: Manifest, observer=None, coalesce=True, on_batch=None, use_compiled=True):
        self.manifest = manifest
        self.use_compiled = use_compiled  # serve a verified compiled twin when the manifest has one
        self.observer = observer  # called as observer(predictor, seconds, rows) after each forward pass
        self.model = None
        self.runtime = self.framework
        serving = manifest.serving or {}
        self.runner = runner_for(
            self._timed_forward,
            serving.get("coalesce", coalesce),  # the manifest may switch it per model
            serving.get("max_batch_rows", DEFAULT_MAX_ROWS),
            on_batch=(lambda requests, rows: on_batch(self, requests, rows)) if on_batch else None,
        )
        standardize = (manifest.preprocessing or {}).get("standardize")
        self._mean = np.asarray(standardize["mean"]) if standardize else None
        self._scale = np.asarray(standardize["scale"]) if standardize else None

    @property
    def name(self):
        return self.manifest.name

    @property
    def version(self):
        return self.manifest.version

    @property
    def is_classifier(self):
        return self.manifest.task == "classification"

    def load(self):
        """Verify the weights file's SHA-256, then deserialise it. Never the other way round."""
        self.manifest.verify()
        self.model = self._load(self.manifest.weights_path)
        return self

    def preprocess(self, matrix):
        """Apply the manifest's preprocessing to a float64 matrix of raw feature values."""
        if self._mean is not None:
            matrix = (matrix - self._mean) / self._scale
        return matrix

    def predict(self, matrix):
        """Return class probabilities (classifiers) or outputs (regressors), one row per input row."""
        return self.runner.run(self.preprocess(matrix))

    def _timed_forward(self, x):
        started = time.perf_counter()
        out = self._forward(x)
        if self.observer is not None:
            self.observer(self, time.perf_counter() - started, len(x))
        if not np.isfinite(out).all():
            # e.g. 1e300 is a finite JSON number but infinite in float32: say so rather than send NaN.
            raise OutOfRange("the model's output is not finite for these inputs: some values are outside the "
                             "range the model computes in (float32)")
        return out

    def _load(self, path):
        raise NotImplementedError

    def _forward(self, x):
        raise NotImplementedError


class TorchPredictor(Predictor):
    """A ``state_dict`` loaded into an architecture registered in code."""

    framework = "pytorch"

    def _load(self, path):
        import torch

        from inference.core import architectures

        state = torch.load(path, map_location="cpu", weights_only=True)
        arch = self.manifest.architecture
        model = architectures.build(arch["name"], arch.get("kwargs") or {})
        model.load_state_dict(state, strict=True)
        model.eval()
        return model

    def _forward(self, x):
        import torch

        with np.errstate(over="ignore"):  # beyond float32 becomes inf; _timed_forward refuses the result
            x32 = np.ascontiguousarray(x, dtype=np.float32)
        with torch.inference_mode():
            out = self.model(torch.from_numpy(x32))
            if self.is_classifier:
                # Softmax in float64 so that probabilities sum to 1 within 1e-6.
                out = torch.softmax(out.double(), dim=1)
        # Regression outputs stay float32, the precision the model computed in; JSON then
        # carries their shortest float32 form (0.6, not 0.6000000238418579).
        return out.numpy()


class SklearnPredictor(Predictor):
    """A scikit-learn estimator saved with joblib (loaded only after the hash check).

    When the manifest carries a compiled twin (the forest converted to ONNX, with a parity
    check against scikit-learn that passed) and onnxruntime is installed, the twin serves and
    the pickle is never loaded; otherwise joblib is the fallback.
    """

    framework = "sklearn"

    def _load(self, path):
        compiled = self.manifest.compiled
        if compiled and self.use_compiled:
            session = self._load_compiled(compiled)
            if session is not None:
                return session
        import joblib

        model = joblib.load(path)
        if self.is_classifier and not hasattr(model, "predict_proba"):
            raise TypeError(f"{path}: a classifier must implement predict_proba")
        self.runtime = "scikit-learn"
        return model

    def _load_compiled(self, compiled):
        name = f"{self.manifest.name}/{self.manifest.version}"
        if not compiled["parity"].get("passed"):
            log.warning("%s: compiled %s form failed its parity check; serving with scikit-learn", name,
                        compiled["format"], extra={"event": "compiled_skipped", "model": name})
            return None
        try:
            from inference.core import onnx_runtime
        except ImportError:
            log.info("%s: onnxruntime is not installed; serving with scikit-learn", name,
                     extra={"event": "compiled_skipped", "model": name})
            return None
        path = self.manifest.directory / compiled["file"]
        self.manifest.verify(compiled["file"], compiled["sha256"])
        self.runtime = "onnxruntime"
        return onnx_runtime.Session(path, output="probabilities" if self.is_classifier else None)

    def _forward(self, x):
        if self.runtime == "onnxruntime":
            from inference.core.onnx_runtime import probabilities

            out = self.model.run(x)
            return probabilities(out) if self.is_classifier else out.reshape(len(x), -1)
        if self.is_classifier:
            return np.asarray(self.model.predict_proba(x), dtype=np.float64)
        out = np.asarray(self.model.predict(x), dtype=np.float64)
        return out.reshape(len(x), -1)


class TorchScriptPredictor(TorchPredictor):
    """A TorchScript archive (``torch.jit.save``), loaded after the hash check."""

    framework = "torchscript"

    def _load(self, path):
        import warnings

        import torch

        with warnings.catch_warnings():  # deprecated in PyTorch 2.13, still supported (see the README)
            warnings.simplefilter("ignore", DeprecationWarning)
            model = torch.jit.load(str(path), map_location="cpu")
        model.eval()
        return model


class OnnxPredictor(Predictor):
    """An ONNX export run by ONNX Runtime (the optional ``onnx`` extra); outputs logits or values."""

    framework = "onnx"

    def _load(self, path):
        from inference.core import onnx_runtime  # ImportError when the extra is not installed

        self.runtime = "onnxruntime"
        return onnx_runtime.Session(path)

    def _forward(self, x):
        out = self.model.run(x)
        if self.is_classifier:  # softmax in float64, as the PyTorch path does
            logits = out.astype(np.float64)
            logits -= logits.max(axis=1, keepdims=True)
            exp = np.exp(logits)
            return exp / exp.sum(axis=1, keepdims=True)
        return out


PREDICTORS = {cls.framework: cls for cls in (TorchPredictor, SklearnPredictor, TorchScriptPredictor, OnnxPredictor)}


def predictor_for(manifest, **options):
    """Return an (unloaded) predictor for the manifest's framework (options: see Predictor)."""
    try:
        cls = PREDICTORS[manifest.framework]
    except KeyError:
        raise LookupError(f"framework {manifest.framework!r} is not supported by this server") from None
    return cls(manifest, **options)


def metadata(predictor, versions):
    """The public description of a loaded model version (SPEC 3: metadata)."""
    m = predictor.manifest
    return {
        "name": m.name,
        "version": m.version,
        "versions": versions,
        "framework": m.framework,
        "runtime": predictor.runtime,
        "task": m.task,
        "inputs": m.inputs,
        "outputs": m.outputs,
        "sha256": m.sha256,
        "created": m.created,
        "data": m.data,
        "metrics": m.metrics,
    }
