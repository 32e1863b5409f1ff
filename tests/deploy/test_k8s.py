"""Kubernetes and KServe manifests: valid against the Kubernetes schemas (offline), and consistent."""

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from inference.testing import ROOT

from . import kustomize

K8S = ROOT / "deploy" / "k8s"
BASE, OVERLAY = K8S / "base", K8S / "overlays" / "example"
KSERVE = ROOT / "deploy" / "kserve" / "inferenceservice.yaml"
KUBERNETES_VERSION = "1.30"  # the oldest release these manifests promise to work on
PRESTOP_SLEEP_S = 5


def validate(doc):
    """Strict validation (no unknown fields) against the Kubernetes schema of the document's kind."""
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def by_kind(docs):
    return {doc["kind"]: doc for doc in docs}


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def quantity(text):
    """A memory quantity in bytes ('512Mi', '1Gi')."""
    number, unit = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", str(text)).groups()
    return int(number) * {None: 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}[unit]


def manifest_files(directory):
    return sorted(p for p in Path(directory).glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("path", manifest_files(BASE) + manifest_files(OVERLAY), ids=lambda p: p.name)
def test_every_manifest_file_parses(path):
    assert kustomize.load_documents(path)


@pytest.mark.parametrize("path", manifest_files(BASE), ids=lambda p: p.name)
def test_every_base_manifest_is_valid(path):
    for doc in kustomize.load_documents(path):
        validate(doc)


def test_base_kustomization_lists_exactly_its_files():
    listed = kustomize.load_documents(BASE / "kustomization.yaml")[0]["resources"]
    assert sorted(listed) == [p.name for p in manifest_files(BASE)]


def test_overlay_refers_only_to_files_that_exist():
    spec = kustomize.load_documents(OVERLAY / "kustomization.yaml")[0]
    paths = spec["resources"] + [p["path"] for p in spec["patches"]] + \
        [f for g in spec["secretGenerator"] for f in g["envs"]]
    for entry in paths:
        assert (OVERLAY / entry).exists(), entry


@pytest.mark.parametrize("directory", [BASE, OVERLAY], ids=["base", "overlay"])
def test_rendered_resources_are_valid_and_consistent(directory):
    docs = kustomize.render(directory)
    for doc in docs:
        validate(doc)
    kinds = by_kind(docs)
    deployment = kinds["Deployment"]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    for kind in ("Service", "PodDisruptionBudget"):
        selector = kinds[kind]["spec"]["selector"]
        assert (selector.get("matchLabels") or selector).items() <= labels.items(), kind
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    target = kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    (container,) = pod["spec"]["containers"]
    secret_ref = env_of(container)["API_KEY"]["valueFrom"]["secretKeyRef"]
    assert kinds["Secret"]["metadata"]["name"] == secret_ref["name"]
    assert secret_ref["key"] in kinds["Secret"]["stringData"]
    assert kinds["Service"]["spec"]["ports"][0]["targetPort"] in {p["name"] for p in container["ports"]}
    if directory == OVERLAY:
        assert len({doc["metadata"].get("namespace") for doc in docs if doc["kind"] != "Namespace"}) == 1


def deployment_container():
    deployment = by_kind(kustomize.render(BASE))["Deployment"]
    return deployment, deployment["spec"]["template"]["spec"]["containers"][0]


def test_probes_match_the_servers_routes():
    _, container = deployment_container()
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    startup = container["startupProbe"]
    assert startup["httpGet"]["path"] == "/ready"
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60  # loading may take a minute


def test_shutdown_outlasts_the_prestop_pause_and_gunicorns_graceful_timeout():
    deployment, container = deployment_container()
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", str(PRESTOP_SLEEP_S)]
    graceful = int(env_of(container)["GUNICORN_GRACEFUL_TIMEOUT"]["value"])
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > PRESTOP_SLEEP_S + graceful


def test_workers_follow_the_cpu_limit_and_torch_does_not_oversubscribe():
    _, container = deployment_container()
    ref = env_of(container)["WEB_CONCURRENCY"]["valueFrom"]["resourceFieldRef"]
    assert ref == {"containerName": container["name"], "resource": "limits.cpu", "divisor": "1"}
    assert re.fullmatch(r"\d+", container["resources"]["limits"]["cpu"])  # whole CPUs: one worker each
    assert env_of(container)["TORCH_THREADS"]["value"] == "1"


def test_memory_covers_the_measured_footprint():
    # make memory: master ~110 MB + up to 67 MB per worker (PSS, every bundled model loaded).
    _, container = deployment_container()
    workers = int(container["resources"]["limits"]["cpu"])
    needed = (110 + 67 * workers) * 10**6
    assert quantity(container["resources"]["requests"]["memory"]) >= needed
    assert quantity(container["resources"]["limits"]["memory"]) >= 2 * needed


def test_read_only_root_with_a_writable_metrics_folder_and_non_root_user():
    deployment, container = deployment_container()
    pod_spec = deployment["spec"]["template"]["spec"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod_spec["securityContext"]["runAsNonRoot"] is True
    assert pod_spec["securityContext"]["runAsUser"] == 10001  # the Dockerfile's USER
    # gunicorn.conf.py makes the metrics folder under /tmp (tempfile) unless PROMETHEUS_MULTIPROC_DIR
    # names one; either way it must be on a writable volume.
    metrics_dir = env_of(container).get("PROMETHEUS_MULTIPROC_DIR", {}).get("value", "/tmp/inference-metrics-x")
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    mount = next(path for path in mounts if metrics_dir.startswith(path.rstrip("/") + "/"))
    volume = next(v for v in pod_spec["volumes"] if v["name"] == mounts[mount])
    assert "emptyDir" in volume


def test_the_model_snapshot_goes_to_a_disk_volume_that_holds_the_overlays_models():
    """The master copies MODEL_DIR into MODEL_SNAPSHOT_DIR: in the in-memory /tmp (64 Mi) a larger
    repository would get the pod evicted, and the copy would count against its memory limit."""
    docs = by_kind(kustomize.render(OVERLAY))
    deployment = docs["Deployment"]
    pod_spec = deployment["spec"]["template"]["spec"]
    (container,) = pod_spec["containers"]
    snapshot_dir = env_of(container)["MODEL_SNAPSHOT_DIR"]["value"]
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == snapshot_dir)
    volume = next(v for v in pod_spec["volumes"] if v["name"] == mount["name"])
    assert "medium" not in volume["emptyDir"]  # disk, not memory
    models = docs["PersistentVolumeClaim"]["spec"]["resources"]["requests"]["storage"]
    assert quantity(volume["emptyDir"]["sizeLimit"]) >= quantity(models)


def test_overlay_mounts_models_read_only_and_scales_workers_with_its_cpus():
    deployment = by_kind(kustomize.render(OVERLAY))["Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    model_dir = env_of(container)["MODEL_DIR"]["value"]
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == model_dir)
    assert mount["readOnly"] is True
    assert {m["name"] for m in container["volumeMounts"]} == {"tmp", "snapshots", "models"}  # merged, not replaced
    assert container["resources"]["limits"]["cpu"] == "4"
    assert "WEB_CONCURRENCY" in env_of(container) and container["image"].endswith(":0.1.0")


def test_the_renderer_refuses_what_it_does_not_understand(tmp_path):
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({"resources": [], "replacements": []}))
    with pytest.raises(ValueError, match="replacements"):
        kustomize.render(tmp_path)


def test_kserve_inference_service_runs_this_image_as_a_v2_custom_predictor():
    (isvc,) = kustomize.load_documents(KSERVE)
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1" and isvc["kind"] == "InferenceService"
    predictor = isvc["spec"]["predictor"]
    (container,) = predictor["containers"]
    assert container["name"] == "kserve-container"
    env = {name: e["value"] for name, e in env_of(container).items()}
    # KServe's storage initializer downloads STORAGE_URI to /mnt/models for a custom container.
    assert env["STORAGE_URI"].startswith(("s3://", "gs://", "pvc://", "https://"))
    assert env["MODEL_DIR"] == "/mnt/models"
    port = container["ports"][0]["containerPort"]
    assert env["GUNICORN_BIND"].endswith(f":{port}")
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert "command" not in container  # the image's own exec-form Gunicorn command
    assert predictor["minReplicas"] <= predictor["maxReplicas"]
    # Its container spec is a valid core/v1 Container (checked inside a Pod, strictly).
    validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kserve-container-check"},
              "spec": {"containers": [container]}})


def test_an_invalid_container_is_caught_by_the_same_check():
    bad = {"name": "x", "image": "y", "ports": [{"containerPort": "eighty"}]}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [bad]}})
