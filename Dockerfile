# mockbroker container image.
#
#   docker build -t mockbroker .            (make image: the same, with version labels)
#   docker run --rm -p 127.0.0.1:8080:8080 -e BROKER_PASSWORD=change-me mockbroker
#
# The broker listens on 0.0.0.0:8080 inside the container, and it refuses a non-loopback
# address with the default password: without BROKER_PASSWORD (or --password) the
# container exits at once with a message saying so, instead of serving broker/broker.
#
#   BROKER_CATALOGS   /etc/mockbroker/catalogs (the bundled catalogs); mount a folder
#                     there to replace them, or point the variable at other paths
#                     (":"-separated files or folders)
#   BROKER_DATA_DIR   /var/lib/mockbroker, a volume: the default SQLite store lives here
#   BROKER_STORE      e.g. postgresql://user:password@host/db to keep state in PostgreSQL
#
# Stages: "wheel" builds the wheel from the source, "venv" installs the dependencies
# (their own layer, reused while pyproject.toml is unchanged) and then the wheel into
# /opt/mockbroker, and the final stage copies that venv onto a clean base.

ARG PYTHON_IMAGE=python:3.12-slim

FROM ${PYTHON_IMAGE} AS wheel
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The build backend (build-system.requires) in a layer of its own, reused by every
# build until pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; \
print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires']))" \
        > /tmp/build-requirements.txt \
 && pip install --requirement /tmp/build-requirements.txt
COPY README.md ./
COPY broker/ broker/
COPY catalogs/ catalogs/
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /dist .


FROM ${PYTHON_IMAGE} AS venv
# The optional dependency groups installed with the broker: every state store and
# credential backend the broker ships.
ARG EXTRAS="postgres mysql redis"
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/mockbroker
# The dependencies first, read from pyproject.toml: a change of the code alone
# reuses this layer.
COPY pyproject.toml /tmp/pyproject.toml
RUN python -c "import sys, tomllib; \
project = tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']; \
extras = project['optional-dependencies']; \
print('\n'.join(project['dependencies'] + [dep for name in sys.argv[1:] for dep in extras[name]]))" \
        $EXTRAS > /tmp/requirements.txt \
 && /opt/mockbroker/bin/pip install --requirement /tmp/requirements.txt
COPY --from=wheel /dist/ /tmp/dist/
RUN /opt/mockbroker/bin/pip install --no-deps /tmp/dist/*.whl \
 && /opt/mockbroker/bin/pip check


FROM ${PYTHON_IMAGE}
# A fixed UID/GID so volumes and Kubernetes securityContext (runAsNonRoot) can rely on it.
RUN groupadd --gid 10001 mockbroker \
 && useradd --no-log-init --uid 10001 --gid 10001 --home-dir /var/lib/mockbroker \
        --no-create-home --shell /usr/sbin/nologin mockbroker \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/mockbroker

COPY --from=venv /opt/mockbroker /opt/mockbroker
COPY catalogs/ /etc/mockbroker/catalogs/

ENV PATH=/opt/mockbroker/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BROKER_HOST=0.0.0.0 \
    BROKER_PORT=8080 \
    BROKER_DATA_DIR=/var/lib/mockbroker \
    BROKER_CATALOGS=/etc/mockbroker/catalogs \
    BROKER_LOG_FORMAT=json

VOLUME ["/var/lib/mockbroker"]
WORKDIR /var/lib/mockbroker
USER 10001:10001
EXPOSE 8080

# Healthy = /readyz answers 200 (store and credential backends reachable). The slim
# base has no curl; Python's urllib raises on a refused connection or a 503.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('BROKER_PORT', '8080'), timeout=4)"]

ENTRYPOINT ["mockbroker"]
CMD ["serve"]

# Static labels; the version, revision and creation time are given at build time with
# --label (make image does), because podman's layer cache ignores changed build
# arguments in LABEL instructions.
LABEL org.opencontainers.image.title="mockbroker" \
      org.opencontainers.image.description="A mock Open Service Broker API (2.13-2.17) server for testing platforms and apps. Set BROKER_PASSWORD: the default password is refused off loopback." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/mockbroker/mockbroker" \
      org.opencontainers.image.documentation="https://github.com/mockbroker/mockbroker#readme"
