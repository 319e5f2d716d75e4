# syntax=docker/dockerfile:1
#
# One image recipe for every deployable unit; the build arg UNIT picks which one:
#   docker build --build-arg UNIT=services/client -t atrium-client .
#   docker build --build-arg UNIT=gateway         -t atrium-gateway .
# The unit's own CLI is the entrypoint, so compose and k8s pass only the sub-command:
# `serve` (the default) or `migrate`.
FROM python:3.11-slim

# Path of the unit in the repository (a directory with a pyproject.toml).
ARG UNIT
# Python module run as `python -m <module>`; derived from UNIT when empty:
# services/<name> -> <name>_svc, gateway -> gateway.
ARG MODULE=""

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

# Fixed numeric ids, so k8s runAsNonRoot can verify the user without a passwd lookup.
RUN test -n "$UNIT" || { echo "build arg UNIT is required, e.g. UNIT=services/client" >&2; exit 1; } \
 && groupadd --system --gid 10001 atrium \
 && useradd --system --uid 10001 --gid atrium --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin atrium \
 && python -m venv /opt/venv

WORKDIR /app
# Only what the unit needs: the shared libs and the unit itself (see .dockerignore).
COPY constraints.txt ./
COPY libs/ libs/
COPY ${UNIT}/ ${UNIT}/
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -c constraints.txt -e libs/contracts -e libs/platform_core -e libs/client_contract -e "${UNIT}"

# Byte-compile now: the root filesystem is read-only at run time. Then check that the module exists
# and write the entrypoint that runs it. Everything stays owned by root, read-only to the app user.
RUN python -m compileall -q libs "${UNIT}" \
 && module="${MODULE}" \
 && if [ -z "$module" ]; then \
      case "$UNIT" in \
        services/*) module="$(basename "$UNIT")_svc" ;; \
        *) module="$(basename "$UNIT")" ;; \
      esac; \
    fi \
 && python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$module') is None)" \
 && printf '#!/bin/sh\nexec /opt/venv/bin/python -m %s "$@"\n' "$module" > /usr/local/bin/atrium-unit \
 && chmod 0755 /usr/local/bin/atrium-unit

# The one writable data directory (filesystem blob storage of the client service, on a volume).
RUN mkdir -p /var/lib/atrium/blobs && chown 10001:10001 /var/lib/atrium/blobs

# Run from the unit's directory, where its alembic.ini and migrations/ live.
WORKDIR /app/${UNIT}
USER 10001:10001

# The wrapper execs Python, so Python is PID 1 and receives SIGTERM directly.
ENTRYPOINT ["/usr/local/bin/atrium-unit"]
CMD ["serve"]
