"""``python -m benchmarks.forgetting``: see run.py."""

import sys

from benchmarks.forgetting.run import main

sys.exit(main())
