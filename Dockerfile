# braze-export as a container task.
#
# Two ways to get the Python dependencies into the image, chosen with --build-arg WHEELS:
#   WHEELS=build (default)  the builder stage runs `pip wheel` itself (needs PyPI from inside the build)
#   WHEELS=host             the wheels were prepared on the host in .ci/cache/wheels (by .ci/docker.sh,
#                           for the base image's Python version and platform) and are installed offline
#                           with `pip install --no-index`: no network is used by the build at all.
# BASE_IMAGE is any image with python3 >= 3.11 and its venv module (python:3.11-slim upstream, or the
# Debian image that .ci/docker.sh builds with debootstrap when no registry is reachable).
# Works with the classic builder and with BuildKit. See docs/container.md.

ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS builder
ARG WHEELS=build
# Lets .ci/docker.sh prune this stage's leftover image after a classic-builder build.
LABEL braze-export.stage=builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
# .dockerignore lets only the package, its schema, its build files and .ci/cache/wheels through.
COPY . /src
WORKDIR /src
RUN set -eu; \
    python3 -c 'import sys; assert sys.version_info >= (3, 11), "braze-export needs Python 3.11+, the base image has " + sys.version'; \
    python3 -m venv /opt/braze-export; \
    case "$WHEELS" in \
      host) \
        if ! ls .ci/cache/wheels/*.whl >/dev/null 2>&1; then \
          echo "WHEELS=host but .ci/cache/wheels holds no wheels: run .ci/docker.sh (or see docs/container.md)" >&2; \
          exit 1; \
        fi; \
        mkdir /wheels; cp .ci/cache/wheels/*.whl /wheels/ ;; \
      build) \
        /opt/braze-export/bin/pip wheel --wheel-dir /wheels . ;; \
      *) \
        echo "WHEELS must be 'host' or 'build', not '$WHEELS'" >&2; exit 1 ;; \
    esac; \
    /opt/braze-export/bin/pip install --no-index --find-links /wheels braze-export; \
    /opt/braze-export/bin/pip uninstall --yes pip setuptools >/dev/null 2>&1 || true; \
    rm -rf /opt/braze-export/bin/pip* /opt/braze-export/bin/Activate.ps1; \
    /opt/braze-export/bin/python -m compileall -q /opt/braze-export/lib >/dev/null; \
    /opt/braze-export/bin/braze-export --help >/dev/null

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="braze-export" \
      org.opencontainers.image.description="Write query results into Braze (Treasure Data-style result output)"
ENV PATH=/opt/braze-export/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LANG=C.UTF-8
# A fixed non-root user (uid/gid 10001) written straight into passwd/group, so that the image
# needs no useradd (a minbase Debian has none). /work is its writable working directory: the
# report and the rejected-rows file land there unless the config says otherwise.
RUN set -eu; \
    echo 'braze:x:10001:10001:braze-export:/work:/usr/sbin/nologin' >> /etc/passwd; \
    echo 'braze:x:10001:' >> /etc/group; \
    mkdir -p /work; chown 10001:10001 /work
COPY --from=builder /opt/braze-export /opt/braze-export
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["braze-export"]
CMD ["--help"]
