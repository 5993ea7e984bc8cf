"""`python -m mmla_app` starts the GUI."""

import sys

from mmla_app.main import main

if __name__ == "__main__":
    sys.exit(main())
