FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY web web
COPY webui webui
COPY admin admin
COPY channels channels
COPY chatgate chatgate
RUN pip install --no-cache-dir . && useradd --system --home /app chatgate
USER chatgate
# The web app listens on every interface; the dashboard stays on loopback unless ADMIN_HOST says otherwise
# (compose.yaml publishes it on the host's loopback only, with ADMIN_ALLOWED_HOSTS checking the Host header).
ENV HOST=0.0.0.0 DATA_DIR=/app/data
EXPOSE 8000 8001
CMD ["chatgate", "serve"]
