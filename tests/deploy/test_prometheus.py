"""Every PromQL expression of the Grafana dashboard returns data from a real Prometheus scraping a real Gunicorn.

The expressions are read from deploy/grafana/dashboards/inference.json, so a new panel is tested
without touching this file; a Grafana variable it does not know fails the test.
"""

import base64
import json
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest
import requests
import yaml

from inference.testing import ROOT, GunicornServer, free_port

pytestmark = pytest.mark.e2e
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "inference.json"
SCRAPE_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
# What Grafana would put in place of its variables: every model, and a window of a few 1 s scrapes.
VARIABLES = {"$__rate_interval": "5s", "$__range": "1m", "$model": ".*"}
# Metrics the dashboard already uses but the server does not export yet: their panels are
# expected to be empty until the metric lands, and then this list must shrink (strict xfail).
PENDING = {}  # metric name -> why a panel has no data yet (a strict xfail)
DEADLINE_S = 90  # an upper bound for a busy machine; an idle one has every series in ~10 s


def dashboard_expressions(dashboard):
    """(title, PromQL) for every panel target, rows' nested panels included, and every query variable."""
    found = []

    def walk(panels):
        for panel in panels:
            walk(panel.get("panels", []))
            for target in panel.get("targets", []):
                if target.get("expr"):
                    found.append((f"{panel['title']} [{target.get('refId', '')}]", target["expr"]))

    walk(dashboard.get("panels", []))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            found.append((f"variable ${variable['name']}", label_values_as_promql(query)))
    return found


def label_values_as_promql(query):
    """Grafana's label_values(metric, label) as the PromQL that has data exactly when it has values."""
    match = re.fullmatch(r"\s*label_values\(\s*(.+?)\s*,\s*(\w+)\s*\)\s*", query)
    return f"count by ({match.group(2)}) ({match.group(1)})" if match else query


def with_variables(expr):
    """``expr`` with Grafana's variables replaced; an unknown variable is an error."""
    for name in sorted(VARIABLES, key=len, reverse=True):
        expr = expr.replace(name, VARIABLES[name])
    leftover = re.findall(r"\$\w+", expr)
    if leftover:
        raise ValueError(f"unknown Grafana variable {leftover} in {expr!r}: add it to VARIABLES")
    return expr


EXPRESSIONS = dashboard_expressions(json.loads(DASHBOARD.read_text()))


def test_the_dashboard_has_the_panels_the_operators_need():
    titles = " | ".join(title.lower() for title, _ in EXPRESSIONS)
    for needed in ("request rate", "error ratio", "p50 / p95 / p99", "in flight", "load failures"):
        assert needed in titles
    assert any(p.get("title", "").startswith("Drift") for p in json.loads(DASHBOARD.read_text())["panels"])
    assert len(EXPRESSIONS) >= 10


def test_unknown_variables_are_refused():
    with pytest.raises(ValueError, match=r"\$job"):
        with_variables('up{job="$job"}')
    assert label_values_as_promql("label_values(inference_model_info, model)") == \
        "count by (model) (inference_model_info)"


def make_repository(model_dir, dest):
    """The bundled models plus a copy of iris-mlp whose weights were altered, so it is refused at load."""
    shutil.copytree(model_dir, dest)
    broken = dest / "tampered" / "1"
    shutil.copytree(dest / "iris-mlp" / "1", broken)
    manifest = json.loads((broken / "model.json").read_text())
    manifest["name"] = "tampered"
    (broken / "model.json").write_text(json.dumps(manifest))
    weights = broken / manifest["file"]
    weights.write_bytes(weights.read_bytes() + b"\0")
    return dest


def traffic(base, stop):
    """Until ``stop``: a good and a bad request for every model, an image, and the refused model (503)."""
    digit = base64.b64encode((ROOT / "docs" / "digit-7.png").read_bytes()).decode()
    calls = [
        ("/models/iris-rf/predict", {"features": [5.1, 3.5, 1.4, 0.2]}),
        ("/models/iris-mlp/predict", {"inputs": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}),
        ("/models/diabetes-risk/predict", {"features": {"age": 48, "bmi": 26.5, "bp": 94, "glucose": 99}}),
        ("/models/linear/predict", {"features": [1.0, 2.0, 3.0]}),
        ("/models/digits-cnn/predict", {"image": digit}),
        ("/models/iris-mlp/predict", {"features": [1.0]}),  # 400
        ("/models/iris-rf/predict", {"features": [5.1, 3.5, 14.0, 0.2]}),  # answered with an out-of-range warning
        ("/models/tampered/predict", {"features": [5.1, 3.5, 1.4, 0.2]}),  # 503
    ]
    with requests.Session() as s:
        while not stop.is_set():
            for path, body in calls:
                try:
                    s.post(base + path, json=body, timeout=10)
                except requests.RequestException:  # a slow moment must not end the traffic: the
                    pass  # quantile panels need requests in every rate window until the tests end
            stop.wait(0.2)


def query(prometheus, expr):
    """The result vector of an instant query."""
    response = requests.get(prometheus + "/api/v1/query", params={"query": expr}, timeout=10)
    payload = response.json()
    assert payload["status"] == "success", payload
    return payload["data"]["result"]


def has_data(result):
    """A non-empty result with at least one value that is a number (a quantile of no rate is NaN)."""
    return any(sample["value"][1] != "NaN" for sample in result)


def is_pending(expr):
    return any(metric in expr for metric in PENDING)


@pytest.fixture(scope="module")
def prometheus(model_dir, tmp_path_factory):
    """A real Gunicorn with traffic and a real Prometheus scraping it every second; yields Prometheus' URL."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed (apt-get install prometheus; .ci/run does)"
    tmp = tmp_path_factory.mktemp("prometheus")
    server = GunicornServer(make_repository(model_dir, tmp / "models"), workers=2, ready_path="/health",
                            log_path=tmp / "gunicorn.log", env={"ACCESS_LOG": "0"})
    # The shipped scrape configuration, pointed at this server and scraping every second.
    config = yaml.safe_load(SCRAPE_CONFIG.read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "inference"]
    job["static_configs"] = [{"targets": [f"127.0.0.1:{server.port}"]}]
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    proc = None
    log = open(tmp / "prometheus.log", "wb")
    try:
        server.start()
        proc = subprocess.Popen([binary, f"--config.file={tmp / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                                 "--storage.tsdb.retention.time=1h"], stdout=log, stderr=subprocess.STDOUT)
        pump = threading.Thread(target=traffic, args=(server.url, stop), daemon=True)
        pump.start()
        deadline = time.monotonic() + DEADLINE_S
        waiting = {expr for _, expr in EXPRESSIONS if not is_pending(expr)}
        while waiting and time.monotonic() < deadline:
            time.sleep(1)
            try:
                waiting = {expr for expr in waiting if not has_data(query(url, with_variables(expr)))}
            except requests.ConnectionError:  # Prometheus still starting
                assert proc.poll() is None, (tmp / "prometheus.log").read_text()
        yield url
    finally:
        stop.set()
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        server.stop()


@pytest.mark.parametrize("title, expr", [
    pytest.param(title, expr, id=title, marks=[pytest.mark.xfail(strict=True, reason=PENDING[m])
                                               for m in PENDING if m in expr])
    for title, expr in EXPRESSIONS
])
def test_dashboard_expression_returns_data(prometheus, title, expr):
    result = query(prometheus, with_variables(expr))
    assert result, f"{title}: {expr} returned no data"
    assert has_data(result), f"{title}: only NaN: {result}"


def test_shipped_scrape_configuration_is_valid():
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with Debian's prometheus package"
    result = subprocess.run([promtool, "check", "config", str(SCRAPE_CONFIG)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
