"""python -m benchmarks.infopo [--quick] [--parts toy,smollm2,timing]  (see run.py)."""

from benchmarks.infopo.run import main

main()
