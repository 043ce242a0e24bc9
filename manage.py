#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visualshop.settings")
    # Django's own boilerplate imports here, after the settings module is chosen.
    import django
    from django.core.management import execute_from_command_line

    from visualshop.unmigrated import command_needs_tables, refusal

    if command_needs_tables(sys.argv):
        django.setup()
        if message := refusal(sys.argv):
            print(message, file=sys.stderr)
            sys.exit(1)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
