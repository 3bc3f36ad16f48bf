"""Let hfplug's own test suite run these tests without pip-installing the example.
(In your plugin, `pip install -e .` makes this file unnecessary.)"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
