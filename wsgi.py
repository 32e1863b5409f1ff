"""The Gunicorn target: ``gunicorn -c gunicorn.conf.py wsgi:app`` (or plainly ``gunicorn -w 4 wsgi:app``)."""

from app import create_app

app = create_app()
