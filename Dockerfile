# The image fly.toml deploys (Heroku uses its Python buildpack and requirements.txt instead).
FROM python:3.12-slim
WORKDIR /app
COPY . .
# Editable: the code runs from /app, beside knowledge/ (read from the checkout, not packaged).
RUN pip install --no-cache-dir -e . && rm -rf /root/.cache
# HTTP mode on $PORT; the SQLite file lives on the volume mounted at /data (DYNODOC_DB).
CMD ["sh", "-c", "dynodoc serve --http --port ${PORT:-8080}"]
