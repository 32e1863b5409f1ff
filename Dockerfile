# The inference server: gunicorn -c gunicorn.conf.py wsgi:app, as a non-root user, with the
# bundled models built into the image.
#
# The build needs no network. Its Python packages come from a wheelhouse that the host prepares
# from constraints.txt (`make wheelhouse` writes build/wheels), and the base is a build argument,
# so a machine without a registry can use a base made from Debian's packages (`make image`).
# Any base with python3 3.11 and its venv module works.
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

# MODEL_DIR may be replaced by a read-only mount (KServe: /mnt/models). At run time the server
# writes only its metrics folder (a fresh one under /tmp per start, made by gunicorn.conf.py),
# the verified model snapshot (a copy of MODEL_DIR, under /tmp unless MODEL_SNAPSHOT_DIR names
# another folder) and Gunicorn's worker heartbeat files (/dev/shm), so the root filesystem can
# be read-only with a writable /tmp.
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MODEL_DIR=/app/artifacts \
    GUNICORN_BIND=0.0.0.0:8000 \
    GUNICORN_CMD_ARGS="--worker-tmp-dir /dev/shm"

WORKDIR /app

# One layer: the virtualenv from the wheelhouse (bind-mounted, so the wheels never enter the
# image), the user, and the models trained here from data scikit-learn ships. The models stay
# owned by root: the server only reads them.
RUN --mount=type=bind,source=build/wheels,target=/wheels \
    python3 -m venv "$VIRTUAL_ENV" \
    && pip install --no-cache-dir --disable-pip-version-check --no-index --find-links /wheels \
        -c /wheels/constraints.txt 'flask-inference-server[onnx]' \
    && useradd --system --no-log-init --uid 10001 --user-group --home-dir /nonexistent \
        --no-create-home --shell /usr/sbin/nologin inference \
    && python -m inference.train --model-dir "$MODEL_DIR" --quiet \
    && rm -rf /tmp/* /tmp/.[!.]*

COPY gunicorn.conf.py deploy/container/healthcheck.py /app/

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["python", "/app/healthcheck.py"]
# Exec form: Gunicorn's master is PID 1 and receives SIGTERM itself, then gives in-flight
# requests GUNICORN_GRACEFUL_TIMEOUT seconds.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
