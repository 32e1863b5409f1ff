"""Build the bundled models into the model repository, reproducibly (``python -m inference.train``).

Every model is trained from data that scikit-learn ships, with fixed seeds and one thread, so
the same library versions give byte-identical weights. Each version is published the one way
every version is (``inference.core.publish``): a temporary folder renamed into place, so a crash
never leaves a half-built version behind, with golden outputs from its first held-out rows.
Each manifest records the held-out metrics measured here (and, for classifiers, the
majority-class baseline beside them).
"""

import argparse
import contextlib
import logging
import sys
from datetime import UTC, datetime

import numpy as np

from inference import config
from inference.core.manifest import MAX_GOLDEN_ROWS, version_dirs
from inference.core.publish import publish

log = logging.getLogger("inference.train")
SEED = 42
TEST_SIZE = 0.2
IRIS_LABELS = ["setosa", "versicolor", "virginica"]
RISK_LABELS = ["low", "medium", "high"]
DIABETES_FEATURES = {"age": 0, "bmi": 2, "bp": 3, "glucose": 9}  # glucose is the s6 column


def _now():
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _split(x, y):
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=TEST_SIZE, random_state=SEED)


def classification_metrics(y_true, y_pred, y_train):
    """Accuracy and macro F1 on the held-out set, and the majority-class baseline's accuracy."""
    from sklearn.metrics import accuracy_score, f1_score

    majority = np.bincount(y_train).argmax()
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 6),
        "macro_f1": round(float(f1_score(y_true, y_pred, average="macro")), 6),
        "majority_baseline_accuracy": round(float(np.mean(y_true == majority)), 6),
        "n_test": int(len(y_true)),
    }


@contextlib.contextmanager
def _deterministic_torch():
    """One thread and deterministic kernels while training; restored afterwards."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(False)
        torch.set_num_threads(threads)


def train_classifier_net(model, x_train, y_train, epochs, lr, desc, progress):
    """Full-batch Adam on standardised inputs; returns the trained model in eval mode."""
    import torch
    from tqdm import tqdm

    xt = torch.tensor(x_train, dtype=torch.float32)
    yt = torch.tensor(y_train, dtype=torch.long)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    for _ in tqdm(range(epochs), desc=desc, unit="epoch", disable=not progress, leave=False):
        optimiser.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        optimiser.step()
    model.eval()
    return model


def _net_predict(model, x):
    import torch

    with torch.inference_mode():
        return model(torch.tensor(x, dtype=torch.float32)).argmax(dim=1).numpy()


def _standardize(x_train):
    mean = x_train.mean(axis=0)
    scale = x_train.std(axis=0)
    scale[scale == 0] = 1.0
    return mean, scale


def _torch_classifier(name, arch, kwargs, features, labels, x, y, data, epochs, lr, progress):
    import torch

    from inference.core import architectures

    x_train, x_test, y_train, y_test = _split(x, y)
    mean, scale = _standardize(x_train)
    with _deterministic_torch():
        model = architectures.build(arch, kwargs)
        train_classifier_net(model, (x_train - mean) / scale, y_train, epochs, lr, name, progress)
    y_pred = _net_predict(model, (x_test - mean) / scale)

    def save(path):
        torch.save(model.state_dict(), path)
        compile_net(manifest, model, (np.vstack([x_train, x_test]) - mean) / scale, path.parent)

    manifest = {
        "framework": "pytorch",
        "task": "classification",
        "file": "model.pt",
        "architecture": {"name": arch, "kwargs": kwargs},
        "inputs": {"features": features, "dtype": "float32", "shape": [-1, len(features)]},
        "outputs": {"labels": labels},
        "preprocessing": {"standardize": {"mean": mean.tolist(), "scale": scale.tolist()}},
        "data": {**data, "n_train": len(x_train), "n_test": len(x_test), "test_size": TEST_SIZE, "split_seed": SEED},
        "training": {"optimizer": "Adam", "lr": lr, "epochs": epochs, "seed": SEED},
        "metrics": classification_metrics(y_test, y_pred, y_train),
    }
    return manifest, save


def build_iris_rf(progress):
    """RandomForest(n_estimators=100, random_state=42) on iris, saved with joblib."""
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    iris = load_iris()
    x_train, x_test, y_train, y_test = _split(iris.data, iris.target)
    model = RandomForestClassifier(n_estimators=100, random_state=SEED, n_jobs=1).fit(x_train, y_train)
    features = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    manifest = {
        "framework": "sklearn",
        "task": "classification",
        "file": "model.joblib",
        "inputs": {"features": features, "dtype": "float64", "shape": [-1, 4]},
        "outputs": {"labels": IRIS_LABELS},
        "data": {"source": "sklearn.datasets.load_iris", "n_train": len(x_train), "n_test": len(x_test),
                 "test_size": TEST_SIZE, "split_seed": SEED},
        "training": {"estimator": "RandomForestClassifier", "n_estimators": 100, "random_state": SEED},
        "metrics": classification_metrics(y_test, model.predict(x_test), y_train),
    }

    def save(path):
        joblib.dump(model, path)
        compiled = compile_forest(model, features, x_train, x_test, path.parent)
        if compiled:
            manifest["compiled"] = compiled

    return manifest, save


def compile_forest(model, features, x_train, x_test, folder):
    """Convert a fitted forest to ONNX, checked against scikit-learn on the training and held-out
    rows and on random rows around their range (``inference.importing.sklearn.convert_twin``);
    return the manifest's ``compiled`` entry, or None when the twin is not made."""
    import pandas as pd

    from inference.importing import sklearn as sk

    sample = pd.DataFrame(np.vstack([x_train, x_test]), columns=features)
    described = {"task": "classification", "features": features, "types": {f: {"type": "number"} for f in features},
                 "frame": False, "sample": sample, "labels": None, "output_names": None}
    compiled, note = sk.convert_twin(model, described, folder)
    log.info("%s: %s", model.__class__.__name__, note)
    return compiled


def compile_net(manifest, model, x, folder):
    """Give a network's version its ONNX twin, checked against eager PyTorch on ``x`` (the network's
    inputs, standardised) and on random rows around their range
    (``inference.importing.torch.convert_twin``); ONNX Runtime then serves it."""
    from inference.importing import torch as torch_import

    compiled, note = torch_import.convert_twin(model, x, folder, classifier=manifest["task"] == "classification")
    log.info("%s: %s", model.__class__.__name__, note)
    if compiled:
        manifest["compiled"] = compiled


def build_iris_mlp(progress):
    """SimpleNN Linear(4,16)-ReLU-Linear(16,3) on standardised iris."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    features = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    return _torch_classifier(
        "iris-mlp", "SimpleNN", {"input_size": 4, "hidden_size": 16, "num_classes": 3},
        features, IRIS_LABELS, iris.data, iris.target,
        {"source": "sklearn.datasets.load_iris"}, epochs=300, lr=0.02, progress=progress,
    )


def diabetes_risk_data():
    """Features age, bmi, bp, glucose (s6) of ``load_diabetes(scaled=False)``, and the
    progression target cut at its tertiles into low / medium / high."""
    from sklearn.datasets import load_diabetes

    raw = load_diabetes(scaled=False)
    x = raw.data[:, list(DIABETES_FEATURES.values())]
    cuts = np.quantile(raw.target, [1 / 3, 2 / 3])
    y = np.digitize(raw.target, cuts)
    return x, y, cuts


def build_diabetes_risk(progress):
    """SimpleNet Linear(4,16)-ReLU-Linear(16,8)-ReLU-Linear(8,3) on four diabetes features."""
    x, y, cuts = diabetes_risk_data()
    return _torch_classifier(
        "diabetes-risk", "SimpleNet", {"input_size": 4, "hidden1": 16, "hidden2": 8, "num_classes": 3},
        list(DIABETES_FEATURES), RISK_LABELS, x, y,
        {"source": "sklearn.datasets.load_diabetes(scaled=False)", "target": "disease progression",
         "tertile_cuts": [round(float(c), 6) for c in cuts]},
        epochs=400, lr=0.01, progress=progress,
    )


def build_linear(progress):
    """SimpleModel Linear(3,1) with every weight 0.1 and bias 0.0 (no training data)."""
    import torch

    from inference.core import architectures

    model = architectures.fill_constant(architectures.build("SimpleModel", {"input_size": 3, "output_size": 1}),
                                        weight=0.1, bias=0.0)
    manifest = {
        "framework": "pytorch",
        "task": "regression",
        "file": "model.pt",
        "architecture": {"name": "SimpleModel", "kwargs": {"input_size": 3, "output_size": 1}},
        "inputs": {"features": ["x1", "x2", "x3"], "dtype": "float32", "shape": [-1, 3]},
        "outputs": {"names": ["y"]},
        "data": {"source": "none: fixed weights (0.1) and bias (0.0)"},
        "metrics": {},
    }

    def save(path):
        torch.save(model.state_dict(), path)
        compile_net(manifest, model, held_out("linear"), path.parent)

    return manifest, save


DIGITS_IMAGE = {"width": 8, "height": 8, "channels": 1, "max_value": 16.0, "invert": "auto",
                "convention": "grey, resized to 8x8 by area averaging, inverted when the background is light "
                              "(dark ink on white paper), then scaled so that background is 0 and full ink is 16, "
                              "as in sklearn's load_digits"}


def train_minibatch(model, x_train, y_train, epochs, lr, batch, desc, progress):
    """Mini-batch Adam with a seeded shuffle; returns the trained model in eval mode."""
    import torch
    from tqdm import tqdm

    xt = torch.tensor(x_train, dtype=torch.float32)
    yt = torch.tensor(y_train, dtype=torch.long)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(SEED)
    model.train()
    for _ in tqdm(range(epochs), desc=desc, unit="epoch", disable=not progress, leave=False):
        order = torch.randperm(len(xt), generator=generator)
        for start in range(0, len(xt), batch):
            idx = order[start:start + batch]
            optimiser.zero_grad()
            loss_fn(model(xt[idx]), yt[idx]).backward()
            optimiser.step()
    model.eval()
    return model


def digits_data():
    """sklearn's 8x8 digits as rows of 64 values in 0..16 (16 = full ink), and their labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data, digits.target


def build_digits_cnn(progress):
    """DigitsCNN on load_digits: 8x8 grey images, 10 classes."""
    import torch

    from inference.core import architectures

    x, y = digits_data()
    x_train, x_test, y_train, y_test = _split(x, y)
    kwargs = {"side": 8, "num_classes": 10}
    with _deterministic_torch():
        model = architectures.build("DigitsCNN", kwargs)
        train_minibatch(model, x_train / 16.0, y_train, epochs=25, lr=0.003, batch=64, desc="digits-cnn",
                        progress=progress)
    y_pred = _net_predict(model, x_test / 16.0)
    manifest = {
        "framework": "pytorch",
        "task": "classification",
        "file": "model.pt",
        "architecture": {"name": "DigitsCNN", "kwargs": kwargs},
        "inputs": {"image": DIGITS_IMAGE, "dtype": "float32", "shape": [-1, 64]},
        "outputs": {"labels": [str(d) for d in range(10)]},
        "preprocessing": {"standardize": {"mean": [0.0] * 64, "scale": [16.0] * 64}},
        "data": {"source": "sklearn.datasets.load_digits", "n_train": len(x_train), "n_test": len(x_test),
                 "test_size": TEST_SIZE, "split_seed": SEED},
        "training": {"optimizer": "Adam", "lr": 0.003, "epochs": 25, "batch": 64, "seed": SEED},
        "metrics": classification_metrics(y_test, y_pred, y_train),
    }

    def save(path):
        torch.save(model.state_dict(), path)
        compile_net(manifest, model, np.vstack([x_train, x_test]) / 16.0, path.parent)

    return manifest, save


def held_out(name):
    """The held-out rows of a bundled model's data (raw feature values), for export checks."""
    from sklearn.datasets import load_iris

    if name in ("iris-rf", "iris-mlp"):
        iris = load_iris()
        return _split(iris.data, iris.target)[1]
    if name == "diabetes-risk":
        x, y, _ = diabetes_risk_data()
        return _split(x, y)[1]
    if name == "digits-cnn":
        return _split(*digits_data())[1]
    return np.random.default_rng(SEED).uniform(-10, 10, size=(200, 3))  # linear: no data set


def training_rows(name):
    """The training rows of a bundled model's data (raw feature values): its reference statistics.
    None for ``linear`` (no data) and ``digits-cnn`` (images get no reference)."""
    from sklearn.datasets import load_iris

    if name in ("iris-rf", "iris-mlp"):
        iris = load_iris()
        return _split(iris.data, iris.target)[0]
    if name == "diabetes-risk":
        x, y, _ = diabetes_risk_data()
        return _split(x, y)[0]
    return None


BUILDERS = {
    "iris-rf": build_iris_rf,
    "iris-mlp": build_iris_mlp,
    "diabetes-risk": build_diabetes_risk,
    "linear": build_linear,
    "digits-cnn": build_digits_cnn,
}


def build_model(model_dir, name, version=None, progress=True):
    """Train ``name`` and write it as ``version`` (default: the next free one); return the folder.

    The first held-out rows become the version's golden outputs; the training rows its reference statistics."""
    manifest, save = BUILDERS[name](progress)
    features = manifest["inputs"].get("features")
    if features:
        manifest["inputs"]["types"] = {feature: {"type": "number"} for feature in features}

    def write(folder):
        save(folder / manifest["file"])
        return {**manifest, "created": _now()}

    rows = np.asarray(held_out(name), dtype=np.float64)[:MAX_GOLDEN_ROWS].tolist()
    return publish(model_dir, name, write, golden_rows=rows, version=version, replace=version is not None,
                   reference_rows=training_rows(name))


def build_all(model_dir, names=None, force=False, new_version=False, progress=True):
    """Build each named model that has no version yet (or rebuild / add one); return what was built."""
    built = []
    for name in names or BUILDERS:
        existing = version_dirs(model_dir, name)
        if existing and not (force or new_version):
            log.info("%s: already built (versions %s), skipping", name, sorted(existing))
            continue
        version = 1 if force else None
        path = build_model(model_dir, name, version=version, progress=progress)
        log.info("%s: built %s", name, path)
        built.append(path)
    return built


def add_arguments(parser):
    """The options of ``inference train`` (also ``python -m inference.train``)."""
    parser.add_argument("models", nargs="*", metavar="MODEL",
                        help=f"models to build (default: all of {', '.join(BUILDERS)})")
    parser.add_argument("--model-dir", default=config.model_dir(),
                        help="model repository (default: $MODEL_DIR or ./artifacts)")
    parser.add_argument("--force", action="store_true", help="rebuild version 1 even if it exists")
    parser.add_argument("--new-version", action="store_true", help="build the next version number")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args, parser):
    """Build the bundled models the arguments name."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in args.models or BUILDERS:
        if name not in BUILDERS:
            parser.error(f"unknown model {name!r}; the bundled models are {', '.join(BUILDERS)}")
    build_all(args.model_dir, args.models or None, force=args.force, new_version=args.new_version,
              progress=not args.quiet and sys.stderr.isatty())
    return 0


def main(argv=None):
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m inference.train", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv), parser)


if __name__ == "__main__":
    sys.exit(main())
