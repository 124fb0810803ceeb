# The reference service (and, with another command, the TRON devnet) as an image.
# Build: docker build -t tron-payment-sre .   Run: docker run -p 8085:8085 -e ... tron-payment-sre
# Runs as uid/gid 1000 (the Deployment's runAsUser) on a read-only root filesystem: nothing is written
# outside /tmp at run time (bytecode is compiled at build time).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
# Everything the package build needs (.dockerignore leaves out tests, caches, .venv, .git and var/).
COPY . .
RUN /opt/venv/bin/pip install -c constraints.txt . \
    && /opt/venv/bin/python -m compileall -q /opt/venv

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=8085
RUN groupadd --gid 1000 app && useradd --uid 1000 --gid 1000 --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /tmp
USER 1000:1000
EXPOSE 8085
# Liveness only: /health/live never depends on MongoDB, Redis or the TRON node.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8085') + '/health/live', timeout=2)"]
# uvicorn (httptools) in-process on uvloop, draining on SIGTERM (service/serving.py); ASGI_SERVER picks another.
CMD ["python", "-m", "service"]
