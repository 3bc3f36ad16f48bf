"""Geometric Median Matching: robust k-subset selection by herding towards the geometric median (arXiv:2504.00564).

Python use without the host::

    import hfplug_gm_matching
    indices = hfplug_gm_matching.select(embeddings, k=500, selector="gm_matching", labels=labels)
    center = hfplug_gm_matching.geometric_median(embeddings)
"""

from hfplug_gm_matching.herding import herd
from hfplug_gm_matching.median import Weiszfeld, geometric_median, weiszfeld
from hfplug_gm_matching.selectors import SELECTORS, SelectOptions, select

__all__ = ["SELECTORS", "SelectOptions", "Weiszfeld", "geometric_median", "herd", "select", "weiszfeld"]
