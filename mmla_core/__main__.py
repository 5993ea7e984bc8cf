import sys

from mmla_core.cli import main

sys.exit(main())
