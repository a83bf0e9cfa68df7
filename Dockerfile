# Build: install the project and its dependencies into a self-contained venv.
FROM python:3.11.14-slim AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY app ./app
# pip and setuptools (about 23 MB) only install: they leave the venv before the runtime copies it.
RUN /opt/venv/bin/pip install --no-cache-dir . \
    && /opt/venv/bin/pip uninstall --yes pip setuptools

# Runtime: the venv only (no sources, compilers, caches or pip), run as an unprivileged user.
FROM python:3.11.14-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/opt/venv/bin:$PATH"

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-log-init --no-create-home \
       --shell /usr/sbin/nologin app

COPY --from=builder /opt/venv /opt/venv

WORKDIR /srv
USER 10001:10001

# `python -m app.server` runs WORKERS uvicorn processes on HOST:PORT and caps each one's BLAS threads
# (BLAS_THREADS; set it to the container's CPU limit divided by WORKERS, since the cores Python sees
# are the host's). On SIGTERM in-flight requests finish for up to GRACEFUL_TIMEOUT seconds.
# The BACKPROP_* limits (app/config.py) default to the app's values; set them at run time.
ENV HOST=0.0.0.0 \
    PORT=8000 \
    WORKERS=1 \
    GRACEFUL_TIMEOUT=30
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/livez', timeout=3)"]

CMD ["python", "-m", "app.server"]
