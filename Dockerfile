FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY webui webui
COPY admin admin
COPY channels channels
COPY chatgate chatgate
RUN pip install --no-cache-dir . && useradd --system --home /app chatgate
USER chatgate
ENV HOST=0.0.0.0 ADMIN_HOST=0.0.0.0 DATA_DIR=/app/data
EXPOSE 8000 8001
CMD ["chatgate", "serve"]
