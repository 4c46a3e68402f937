"""techmap's settings with one bench-only URL added: the "hello" baseline of bench/load.py.

Used only by `techmap serve` started from bench/load.py (DJANGO_SETTINGS_MODULE), so the
baseline runs under the same gunicorn, workers and middleware as the pages it is compared
with, while the production URLconf never holds bench code.
"""

from techmap.settings import *  # noqa: F403

ROOT_URLCONF = "bench.hello_urls"
