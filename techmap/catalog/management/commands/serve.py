import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve techmap with gunicorn (a production WSGI server), DEBUG off."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on.")
        parser.add_argument("--workers", type=int, default=2, help="Worker processes.")

    def handle(self, *args, host, port, workers, **options):
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"Serving techmap at http://{host}:{port}/ (Ctrl+C stops it)")
        self.stdout.flush()
        args = [
            sys.executable,
            "-m",
            "gunicorn",
            "techmap.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "--access-logfile",
            "-",
            "--forwarded-allow-ips",
            "127.0.0.1",
        ]
        os.environ["DJANGO_SETTINGS_MODULE"] = "techmap.settings"
        os.environ["TECHMAP_DATA_DIR"] = str(settings.DATA_DIR)
        os.environ["TECHMAP_DEBUG"] = "false"
        os.execvp(args[0], args)
