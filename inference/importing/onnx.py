"""ONNX files, from skl2onnx (with or without its ZipMap output) or ``torch.onnx.export``: their
inputs, their outputs and class labels, read from the graph without running anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inference.importing import signature
from inference.importing.candidate import Candidate
from inference.importing.signature import BOOLEAN, INTEGER, NUMBER, STRING, SignatureError

ONNX_TYPES = {1: NUMBER, 11: NUMBER, 10: NUMBER, 7: INTEGER, 6: INTEGER, 9: BOOLEAN, 8: STRING}  # TensorProto codes
LABEL_ATTRIBUTES = ("classlabels_strings", "classlabels_int64s", "classlabels_ints")


def load_graph(path: Path) -> Any:
    """The ONNX model proto (parsing only: nothing in it runs)."""
    import onnx

    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as exc:
        raise SignatureError(f"{path.name} is not a valid ONNX model: {type(exc).__name__}: {str(exc)[:200]}") from None
    return model


def class_labels(model: Any) -> list[str] | None:
    """The class labels an ai.onnx.ml classifier or ZipMap node names, as strings."""
    import onnx

    for node in model.graph.node:
        for attr in node.attribute:
            if attr.name in LABEL_ATTRIBUTES:
                values = onnx.helper.get_attribute_value(attr)
                return [v.decode() if isinstance(v, bytes) else str(v) for v in values]
    return None


def strip_zipmap(model: Any) -> tuple[Any, bool]:
    """Replace a ZipMap output (a list of {label: p} maps) by the probability tensor it wraps."""
    import onnx

    graph = model.graph
    zipmaps = [n for n in graph.node if n.op_type == "ZipMap"]
    if not zipmaps:
        return model, False
    node = zipmaps[0]
    tensor_name, map_name = node.input[0], node.output[0]
    outputs = [o for o in graph.output if o.name != map_name]
    probabilities = onnx.helper.make_tensor_value_info(tensor_name, onnx.TensorProto.FLOAT, [None, None])
    graph.node.remove(node)
    del graph.output[:]
    graph.output.extend([*outputs, probabilities])
    onnx.checker.check_model(model)
    return model, True


def inputs_of(model: Any) -> list[tuple[str, str, list[Any]]]:
    """``(name, feature type, shape)`` of each graph input."""
    found = []
    for tensor in model.graph.input:
        ttype = tensor.type.tensor_type
        kind = ONNX_TYPES.get(ttype.elem_type)
        if kind is None:
            raise SignatureError(f"input {tensor.name!r} has an unsupported element type {ttype.elem_type}")
        shape = [d.dim_value if d.HasField("dim_value") else None for d in ttype.shape.dim]
        found.append((tensor.name, kind, shape))
    return found


def outputs_of(model: Any) -> list[str]:
    return [o.name for o in model.graph.output]


def describe(model: Any, *, features: list[str] | None, types: dict[str, dict[str, Any]] | None, sample: Any,
             labels: list[str] | None, task: str | None) -> dict[str, Any]:
    """Features, types, task, labels and what the classifier's output holds, for an ONNX graph."""
    graph_inputs = inputs_of(model)
    frame = len(graph_inputs) > 1
    if frame:  # one input per column (skl2onnx from a DataFrame): the names are the features
        named = [name for name, _, _ in graph_inputs]
        if features and list(features) != named:
            raise SignatureError(f"--features {features} differ from the model's inputs {named}")
        features = named
        graph_types = {name: {"type": kind} for name, kind, _ in graph_inputs}
        types = {**graph_types, **(types or {})}
    else:
        name, kind, shape = graph_inputs[0]
        if kind != NUMBER or len(shape) != 2:
            raise SignatureError(f"input {name!r} must be a 2-D float tensor [batch, features], got {shape}")
        width = shape[1]
        features = features or (list(map(str, sample.columns)) if sample is not None else None)
        if not features:
            if not width:
                raise SignatureError("the model does not say how many features it takes: give --features a,b,c")
            features = [f"x{i}" for i in range(width)]
        if width and width != len(features):
            raise SignatureError(f"the model takes {width} features, {len(features)} names were given")
        types = types or {f: {"type": NUMBER} for f in features}
    if sample is not None:
        sample = signature.check_sample(sample, features)
        for name, spec in types.items():
            if spec["type"] == STRING and not spec.get("categories"):
                spec.update(signature.feature_type(sample[name]))
    graph_labels = class_labels(model)
    outputs = outputs_of(model)
    if task is None:
        task = "classification" if (graph_labels or labels) else None
    if task is None:
        raise SignatureError("say what the model predicts: --labels a,b,c for a classifier (its outputs are scores "
                             "per class) or --task regression")
    scores = None
    if task == "classification":
        if graph_labels and labels and len(labels) != len(graph_labels):
            raise SignatureError(f"--labels names {len(labels)} classes, the model has {len(graph_labels)}")
        labels = labels or graph_labels
        if not labels:
            raise SignatureError("a classifier needs its class labels: --labels a,b,c (in the order of its outputs)")
        # skl2onnx classifiers give (label, probabilities); an export gives one tensor of logits.
        scores = "probabilities" if "probabilities" in outputs or graph_labels else "logits"
    return {"task": task, "labels": labels, "features": features, "types": types, "frame": frame,
            "sample": sample, "scores": scores, "output_names": None if task == "classification" else ["prediction"]}


def candidate(path: Path, *, features: list[str] | None = None, types: dict[str, dict[str, Any]] | None = None,
              sample: Any = None, labels: list[str] | None = None, task: str | None = None,
              source: dict[str, Any] | None = None) -> Candidate:
    """A Candidate for an ONNX file: the graph (its ZipMap output replaced by the probability
    tensor) written as ``model.onnx``."""
    model = load_graph(path)
    model, stripped = strip_zipmap(model)
    described = describe(model, features=features, types=types, sample=sample, labels=labels, task=task)
    if described["task"] == "classification" and described["scores"] == "probabilities":
        _rename_output(model, "probabilities")
    data = model.SerializeToString()

    def write_files(folder: Path) -> None:
        (folder / "model.onnx").write_bytes(data)

    cand = Candidate(framework="onnx", task=described["task"], features=described["features"],
                     types=described["types"], file="model.onnx", write_files=write_files,
                     labels=described["labels"], output_names=described["output_names"], frame=described["frame"],
                     scores=described["scores"], source={**(source or {}), "onnx_opset": _opset(model)},
                     sample=described["sample"])
    if stripped:
        cand.notes.append("the ZipMap output (a list of {label: probability} maps) was replaced by its probability "
                          "tensor; the written model.onnx differs from the given file in that node only")
    cand.source.setdefault("zipmap_removed", stripped)
    return cand


def _opset(model: Any) -> dict[str, int]:
    return {o.domain or "ai.onnx": o.version for o in model.opset_import}


def _rename_output(model: Any, wanted: str) -> None:
    """Name the classifier's probability output ``wanted``, so the runtime finds it by name."""
    graph = model.graph
    names = [o.name for o in graph.output]
    if wanted in names:
        return
    candidates = [o for o in graph.output if o.type.tensor_type.elem_type in (1, 11)]
    if not candidates:
        raise SignatureError("the classifier has no float probability output")
    old = candidates[-1].name
    for node in graph.node:
        for i, name in enumerate(node.output):
            if name == old:
                node.output[i] = wanted
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = wanted
    candidates[-1].name = wanted
