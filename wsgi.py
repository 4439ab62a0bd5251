"""WSGI entry point: ``flask --app wsgi run`` or any WSGI server with ``wsgi:app``."""
from insurer_dms import create_app

app = create_app()
