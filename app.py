"""The before/after app: `python app.py [--host 127.0.0.1] [--port 7860] [--runs runs] [--share]`."""

import sys

from erase.app.main import main

if __name__ == "__main__":
    sys.exit(main())
