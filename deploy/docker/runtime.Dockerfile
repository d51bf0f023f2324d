# The runtime image: one generic Python runtime per Pod (docs/kubernetes.md). Build from the
# repository root:   docker build -f deploy/docker/runtime.Dockerfile -t fastapi-platform-runtime .
# The Kubernetes host gives it the arguments (tini stays the entrypoint)
#   /usr/local/bin/python -I /opt/fastapi-platform/runtime/bootstrap.py --listen tcp:0.0.0.0:8000 \
#     --token-sha256-file /var/run/fastapi-platform/token-sha256 --code-dir /var/lib/fastapi-platform/code
# with a read-only root filesystem, as uid 10001, no privilege escalation, seccomp RuntimeDefault.
# Functions' own dependencies are vendored in their bundles; add common ones here if you want
# them preinstalled for every function.
FROM python:3.11-slim-bookworm

# tini as pid 1: forwards SIGTERM to the runtime and reaps the processes a function leaves behind.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

COPY runtime/requirements.txt runtime/requirements-presets.txt /opt/fastapi-platform/runtime/
RUN pip install --no-cache-dir --no-compile -r /opt/fastapi-platform/runtime/requirements.txt -r /opt/fastapi-platform/runtime/requirements-presets.txt

COPY runtime/bootstrap.py /opt/fastapi-platform/runtime/bootstrap.py
COPY runtime/fp_runtime /opt/fastapi-platform/runtime/fp_runtime
RUN python -m compileall -q /opt/fastapi-platform/runtime \
 && groupadd --gid 10001 runtime && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp runtime \
 && mkdir -p /var/lib/fastapi-platform/code /var/run/fastapi-platform \
 && chown 10001:10001 /var/lib/fastapi-platform/code

USER 10001:10001
ENV PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8 HOME=/tmp
EXPOSE 8000
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["/usr/local/bin/python", "-I", "/opt/fastapi-platform/runtime/bootstrap.py", "--help"]
