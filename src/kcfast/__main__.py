import sys

from kcfast.cli import main

sys.exit(main())
