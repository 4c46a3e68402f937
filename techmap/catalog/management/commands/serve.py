import hashlib
import os
import sys

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command
from django.core.management.base import BaseCommand


def static_signature() -> str:
    """A fingerprint of every static source file (path, size, mtime)."""
    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in finder.list([]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def collect_static_if_changed() -> bool:
    """Run collectstatic only when the static sources changed since the last run."""
    stamp = settings.STATIC_ROOT / ".techmap-signature"
    signature = static_signature()
    if stamp.exists() and stamp.read_text() == signature:
        return False
    call_command("collectstatic", interactive=False, verbosity=0)
    stamp.write_text(signature)
    return True


class Command(BaseCommand):
    help = "Serve techmap with gunicorn (a production WSGI server), DEBUG off."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on.")
        parser.add_argument("--workers", type=int, default=2, help="Worker processes.")

    def handle(self, *args, host, port, workers, **options):
        collect_static_if_changed()
        self.stdout.write(f"Serving techmap at http://{host}:{port}/ (Ctrl+C stops it)")
        self.stdout.flush()
        args = [
            sys.executable, "-m", "gunicorn", "techmap.wsgi:application",
            "--bind", f"{host}:{port}",
            "--workers", str(workers),
            "--access-logfile", "-",
            "--forwarded-allow-ips", "127.0.0.1",
            # One control socket per machine would clash between instances.
            "--no-control-socket",
        ]  # fmt: skip
        # The workers run the settings this command runs with (a deployment may wrap them).
        os.environ["DJANGO_SETTINGS_MODULE"] = settings.SETTINGS_MODULE
        os.environ["TECHMAP_DATA_DIR"] = str(settings.DATA_DIR)
        os.environ["TECHMAP_DEBUG"] = "false"
        os.execvp(args[0], args)
