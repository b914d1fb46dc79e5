# syntax=docker/dockerfile:1
# One image for both components: `apranova operator` and `apranova api`.
#
#   docker build -t ghcr.io/apranova/apranova:0.1.0 .
#
# The builder turns the project and its dependencies into wheels; the final stage installs only
# those wheels (no compiler, no source tree, no pip) and runs as an unprivileged user, so it works
# with the chart's runAsNonRoot and readOnlyRootFilesystem settings.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY apranova ./apranova
COPY contract ./contract
COPY operator ./operator
COPY api ./api
RUN python -m pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m pip install --no-index --find-links=/wheels apranova \
    && python -m pip uninstall --yes pip setuptools wheel \
    && groupadd --system --gid 10001 apranova \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin apranova
WORKDIR /tmp
USER 10001:10001
EXPOSE 8000 8080 9090
ENTRYPOINT ["apranova"]
CMD ["--help"]
