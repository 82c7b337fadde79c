"""Entry point of the bundled app (PyInstaller)."""

import sys

from composer_app.cli import main

if __name__ == "__main__":
    sys.exit(main())
