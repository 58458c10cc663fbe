"""The baseline: a bare Flask route returning "ok", served by the same gunicorn settings."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def ok():
    return "ok"
