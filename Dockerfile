# The runtime image: the wrapper alone, for use as a base (FROM) or as a reference for your own image.
# Build from the repository root:  docker build -t secret-injector .
# Your image adds the scoring server and sets CMD; the ENTRYPOINT resolves the secrets, then execs it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/secret-injector
COPY pyproject.toml README.md ./
COPY injector ./injector
COPY sidecar ./sidecar
# Runtime dependencies only: the deploy-time extra (azure-ai-ml) and the emulator stay out of the image.
RUN pip install . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin app

USER 10001
WORKDIR /home/app

# Exec form: the wrapper is PID 1's program and execs the command in place (same pid, signals, exit code).
ENTRYPOINT ["secret-injector", "exec", "--"]
CMD ["python", "-c", "print('secret-injector: set CMD to your scoring server')"]
