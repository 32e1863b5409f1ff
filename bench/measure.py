"""One measurement of one endpoint: wrk when installed, else the bundled load tester."""

import re
import shutil
import subprocess
import sys

import orjson

WRK_SCRIPT = "bench/predict.lua"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def tool():
    """'wrk' when the wrk binary is on PATH, else 'loadtest'."""
    return "wrk" if shutil.which("wrk") else "loadtest"


def _ms(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * UNITS[unit]


def parse_wrk(output):
    """Requests/s, p50, p99 (ms) and errors from ``wrk --latency`` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        errors += sum(int(g) for g in m.groups())
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "errors": errors, "requests": requests}


def measure(url, concurrency, duration, body_file=None, warmup=1.0):
    """Closed-loop load at ``concurrency`` for ``duration`` seconds; returns rps, p50_ms, p99_ms, errors."""
    if tool() == "wrk":
        env = {"PATH": "/usr/bin:/bin"}
        if body_file:
            env["WRK_BODY_FILE"] = str(body_file)
        threads = str(min(2, concurrency))
        base = ["wrk", "-t", threads, "-c", str(concurrency), "--latency", "-s", WRK_SCRIPT, url]
        if warmup:  # wrk takes whole seconds
            subprocess.run(base[:5] + ["-d", f"{max(1, round(warmup))}s"] + base[5:], env=env, capture_output=True,
                           timeout=60)
        out = subprocess.run(base[:5] + ["-d", f"{max(1, round(duration))}s", "--timeout", "10s"] + base[5:],
                             env=env, capture_output=True, text=True, timeout=duration + 60)
        if "Requests/sec" not in out.stdout:
            raise RuntimeError(f"wrk failed: {out.stdout}{out.stderr}")
        result = parse_wrk(out.stdout)
    else:
        args = [sys.executable, "-m", "loadtest", url, "-c", str(concurrency), "-t", str(duration),
                "--warmup", str(warmup), "--json", "/dev/stdout", "--no-progress"]
        args += ["--body-file", str(body_file)] if body_file else ["--body", '{"features": [5.1, 3.5, 1.4, 0.2]}']
        out = subprocess.run(args, capture_output=True, text=True, timeout=duration + 120)
        step = orjson.loads(out.stdout[out.stdout.index("{\n"):])["steps"][0]
        result = {"rps": step["throughput_rps"], "p50_ms": step["latency_p50_s"] * 1000,
                  "p99_ms": step["latency_p99_s"] * 1000, "errors": step["errors"], "requests": step["requests"]}
    result["tool"] = tool()
    return result
