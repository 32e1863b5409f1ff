# The two commands a new user needs: `make serve` and `make test`. Both create or reuse .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MODEL_DIR ?= artifacts
STAMP := $(VENV)/.installed-stamp

.PHONY: install artifacts serve test test-fast lint lock clean help loadtest memory bench bench-deps bench-formats \
	profile profile-server deploy-deps wheelhouse image-base image image-test

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

install: $(STAMP)  ## create .venv with the pinned dependencies (constraints.txt)

$(STAMP): setup.cfg constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -c constraints.txt -e '.[dev,onnx]'
	touch $@

artifacts: $(STAMP)  ## build the bundled models into $(MODEL_DIR) (skips what is built)
	$(BIN)/python -m inference.train --model-dir $(MODEL_DIR)

serve: artifacts  ## run Gunicorn (a worker per core, at least 2; 127.0.0.1:8000) on the bundled models
	MODEL_DIR=$(MODEL_DIR) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: artifacts  ## run the whole test suite (unit, API, end-to-end with real Gunicorn)
	$(BIN)/python -m pytest

test-fast: $(STAMP)  ## unit and API tests only (no real Gunicorn)
	$(BIN)/python -m pytest -m 'not e2e'

PORT ?= 8000
LOADTEST_OUT ?= results/loadtest-$(shell date +%Y%m%d-%H%M%S)
loadtest: artifacts  ## sweep POST /predict (starts the server if none answers on :$(PORT)); JSON, CSV, PNG in results/
	$(BIN)/python -m loadtest http://127.0.0.1:$(PORT)/predict --body '{"features": [5.1, 3.5, 1.4, 0.2]}' \
		-c 1,2,4,8,16,32 -t 5 --warmup 1 --serve \
		--json $(LOADTEST_OUT).json --csv $(LOADTEST_OUT).csv --plot $(LOADTEST_OUT).png
	@echo "results: $(LOADTEST_OUT).{json,csv,png}"

memory: artifacts  ## PSS of the master and 4 workers serving every bundled model
	$(BIN)/python -m bench.memory --workers 4 --model-dir $(MODEL_DIR)

BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --disable-pip-version-check -q -c constraints.txt -e '.[dev,onnx,bench]'
	touch $@

bench-deps:  ## install wrk (Debian package) for make bench; without it the bundled load tester measures
	apt-get update -qq && apt-get install -y -qq wrk

# mlflow models serve (the MLflow comparison of make bench) needs gunicorn<27: its own venv, exact pins.
MLFLOW_VENV := .venv-mlflow
MLFLOW_STAMP := $(MLFLOW_VENV)/.installed-stamp
$(MLFLOW_STAMP): bench/mlflow-requirements.txt
	test -x $(MLFLOW_VENV)/bin/python || $(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install --disable-pip-version-check -q -r bench/mlflow-requirements.txt
	touch $@

bench: artifacts $(BENCH_STAMP) $(MLFLOW_STAMP)  ## ceiling, naive app, FastAPI, mlflow models serve vs this server; every target with its ratio
	$(BIN)/python -m bench.run

bench-formats: artifacts $(BENCH_STAMP)  ## PyTorch eager vs TorchScript vs ONNX Runtime latency, in-process
	$(BIN)/python -m bench.formats --model-dir $(MODEL_DIR)

profile: artifacts $(BENCH_STAMP)  ## where one worker's CPU goes for a one-row prediction (pyinstrument)
	$(BIN)/python -m bench.profile --model-dir $(MODEL_DIR)

profile-server: artifacts $(BENCH_STAMP)  ## CPU per one-row request in the running server: in the app vs around it, vs the ceiling
	$(BIN)/python -m bench.split --model-dir $(MODEL_DIR)

# --- Deployment: container image (daemonless podman/buildah, vfs storage) -----------------------
IMAGE ?= localhost/flask-inference-server:latest
# The default base is made from Debian's packages (no registry needed); BASE=python:3.11-slim-bookworm
# builds on the official image where a registry can be reached.
BASE ?= localhost/debian-python:bookworm
WHEELHOUSE := build/wheels
export CONTAINERS_CONF := $(CURDIR)/deploy/podman/containers.conf
PODMAN := podman --runtime runc --storage-driver vfs
BUILDAH := buildah --storage-driver vfs

deploy-deps:  ## install podman, buildah, runc, mmdebstrap, nginx, prometheus (Debian packages)
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc mmdebstrap nginx prometheus

wheelhouse: $(STAMP)  ## wheels for the image, from constraints.txt (this project's own wheel included) into build/wheels
	$(BIN)/pip wheel --disable-pip-version-check -q -w $(WHEELHOUSE) --find-links $(WHEELHOUSE) -c constraints.txt '.[onnx]'
	cp constraints.txt $(WHEELHOUSE)/constraints.txt

image-base:  ## the base image from Debian's packages (mmdebstrap), unless it exists
	@if [ "$(BASE)" = localhost/debian-python:bookworm ] && ! $(PODMAN) image exists $(BASE); then \
		set -e; tmp=$$(mktemp -d); \
		mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates bookworm $$tmp/rootfs.tar; \
		$(PODMAN) import $$tmp/rootfs.tar $(BASE); rm -rf $$tmp; \
	fi

image: wheelhouse image-base  ## build $(IMAGE) from the wheelhouse (pip --no-index: no registry); prints its size
	$(BUILDAH) bud --format docker --isolation chroot --network host --layers=false \
		--build-arg BASE=$(BASE) -t $(IMAGE) .
	$(PODMAN) image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' $(IMAGE)

image-test: artifacts  ## build the image, run 2 replicas behind nginx, stop one under load; removes what it made
	$(MAKE) image IMAGE=localhost/flask-inference-server:image-test
	$(BIN)/python -m deploy.image_test --image localhost/flask-inference-server:image-test --model-dir $(MODEL_DIR) \
		--json results/image-test-$(shell date +%Y%m%d-%H%M%S).json; \
		rc=$$?; $(PODMAN) rmi -f localhost/flask-inference-server:image-test >/dev/null; exit $$rc

lint: $(STAMP)  ## ruff, and mypy on the typed serving core and importers
	$(BIN)/ruff check .
	$(BIN)/mypy

# constraints.txt is the lock: every dependency, transitive ones included, at the exact version CI
# tested. pip-compile keeps its pins unless told to upgrade one (make lock UPGRADE="--upgrade-package
# flask"). torch stays 2.13.0, the CPU wheel the build machines carry (pip takes it from the local
# disk): any other version pulls a multi-GB CUDA build. setuptools (torch needs it at run time) is
# pinned like the rest; pip is not (--unsafe-package pip): the venv brings its own installer.
UPGRADE ?=
lock: $(STAMP)  ## re-resolve constraints.txt (every dependency, pinned) from setup.cfg; keeps existing pins
	$(BIN)/pip-compile --all-extras --strip-extras --unsafe-package pip --no-emit-index-url --no-emit-find-links -q $(UPGRADE) \
		--output-file constraints.txt setup.cfg
	sed -i 's/^torch==\([0-9.]*\)+cpu$$/torch==\1/' constraints.txt

clean:  ## remove the venv, caches and built models
	rm -rf $(VENV) $(MLFLOW_VENV) .pytest_cache results
	find $(MODEL_DIR) -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
