"""``python -m ordertalk_messaging``: the command line (entrypoints.cli)."""

from ordertalk_messaging.entrypoints.cli import main

if __name__ == "__main__":
    main()
