"""``python -m benchmarks.murphy_compute``: see run.py."""

import sys

from benchmarks.murphy_compute.run import main

sys.exit(main())
