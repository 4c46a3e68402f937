#!/usr/bin/env python
"""Django's manage.py; `techmap` is the same with the schema kept up to date."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "techmap.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
