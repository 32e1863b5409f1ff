"""Just enough of kustomize to render the example overlay offline: resources, namespace, images,
strategic-merge patches (lists of named items merge by name) and env-file secret generators."""

from pathlib import Path

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "patches", "secretGenerator", "labels"}
CLUSTER_SCOPED = {"Namespace"}


def load_documents(path):
    """Every non-empty YAML document in ``path``."""
    return [doc for doc in yaml.safe_load_all(Path(path).read_text()) if doc]


def merge(base, patch):
    """Strategic merge: dicts merge key by key, lists of named dicts merge by name, anything else is replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    if isinstance(base, list) and isinstance(patch, list) and all(isinstance(i, dict) and "name" in i
                                                                  for i in base + patch):
        out = list(base)
        index = {item["name"]: i for i, item in enumerate(out)}
        for item in patch:
            if item["name"] in index:
                out[index[item["name"]]] = merge(out[index[item["name"]]], item)
            else:
                out.append(item)
        return out
    return patch


def render(directory):
    """The resources a kustomization in ``directory`` produces."""
    directory = Path(directory)
    spec = load_documents(directory / "kustomization.yaml")[0]
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise ValueError(f"this renderer does not support {sorted(unknown)}")
    docs = []
    for entry in spec.get("resources", []):
        path = directory / entry
        docs += render(path) if path.is_dir() else load_documents(path)
    for generator in spec.get("secretGenerator", []):
        data = {}
        for env_file in generator.get("envs", []):
            for line in (directory / env_file).read_text().splitlines():
                if line.strip() and not line.startswith("#"):
                    key, _, value = line.partition("=")
                    data[key.strip()] = value.strip()
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": generator["name"]},
                  "type": "Opaque", "stringData": data}
        if generator.get("behavior") == "replace":
            matches = [d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == generator["name"]]
            if not matches:
                raise ValueError(f"secretGenerator replaces {generator['name']}, which no resource defines")
            docs = [d for d in docs if d not in matches]
        docs.append(secret)
    for patch in spec.get("patches", []):
        change = load_documents(directory / patch["path"])[0]
        targets = [i for i, d in enumerate(docs)
                   if d["kind"] == change["kind"] and d["metadata"]["name"] == change["metadata"]["name"]]
        if len(targets) != 1:
            raise ValueError(f"patch {patch['path']} matches {len(targets)} resources")
        docs[targets[0]] = merge(docs[targets[0]], change)
    for label_set in spec.get("labels", []):
        for doc in docs:
            doc.setdefault("metadata", {}).setdefault("labels", {}).update(label_set["pairs"])
    for image in spec.get("images", []):
        for doc in docs:
            for container in doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
                name, _, _ = container["image"].rpartition(":")
                if name == image["name"]:
                    container["image"] = f"{image.get('newName', name)}:{image['newTag']}"
    if "namespace" in spec:
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = spec["namespace"]
    return docs
