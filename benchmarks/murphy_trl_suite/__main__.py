"""``python -m benchmarks.murphy_trl_suite TRL_CHECKOUT WORKDIR``: see run.py."""

import sys

from benchmarks.murphy_trl_suite.run import main

sys.exit(main())
