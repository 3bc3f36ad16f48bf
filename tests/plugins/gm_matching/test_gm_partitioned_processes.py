"""The batched variant across two processes (torchrun with gloo, as `accelerate launch` starts it on CPU): each
process sums half of the Weiszfeld blocks and herds half of the batches of int8 rows on disk, and both end with
the median and the ranking one process computes, bit for bit."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from hfplug_gm_matching import geometric_median, select

from hfplug.testing import run_data_parallel

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    import torch
    import hfplug_gm_matching.median as median
    import hfplug_gm_matching.selectors as selectors

    torch.set_num_threads(1)
    out, path, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    torch.distributed.init_process_group("gloo")
    rank = torch.distributed.get_rank()
    herded = []
    real_herd = selectors.herd

    def counting_herd(members, *args, **kwargs):
        herded.append(len(members))
        return real_herd(members, *args, **kwargs)

    selectors.herd = counting_herd
    blocks_read = []
    real_mine = median._Blocks.mine

    def counting_mine(self):
        for index, block in real_mine(self):
            blocks_read.append(index)
            yield index, block

    median._Blocks.mine = counting_mine
    center = median.geometric_median(np.load(path, mmap_mode="r"), block_rows=50, distributed=True, eps=1e-7)
    center_blocks = sorted(set(blocks_read))
    labels = np.load(path.replace("rows", "labels"))
    picks = selectors.select(np.load(path, mmap_mode="r"), 120, labels=labels, distributed=True, **options)
    with open(f"{out}/rank{rank}.json", "w") as handle:
        json.dump({"picks": picks.tolist(), "herded": herded, "center": center.tolist(), "blocks": center_blocks},
                  handle)
    """
)

OPTIONS = [
    {"batches": 4, "block_rows": 64},
    {"batches": 5, "init": "random", "metric": "euclidean", "engine": "int8", "block_rows": 100},
]


@pytest.mark.parametrize("options", OPTIONS)
def test_two_processes_herd_half_the_batches_each_and_pick_what_one_process_picks(tmp_path, options):
    rng = np.random.default_rng(0)
    codes = rng.integers(-128, 128, size=(1500, 24)).astype(np.int8)
    codes[:, :2] = 90  # a shared direction, as in sentence embeddings
    labels = rng.integers(2, size=1500)
    np.save(tmp_path / "rows.npy", codes)
    np.save(tmp_path / "labels.npy", labels)
    run_data_parallel(SCRIPT, tmp_path, str(tmp_path), str(tmp_path / "rows.npy"), json.dumps(options))
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in range(2)]
    alone = select(np.load(tmp_path / "rows.npy", mmap_mode="r"), 120, labels=labels, **options)
    assert ranks[0]["picks"] == ranks[1]["picks"] == alone.tolist()
    center = geometric_median(np.load(tmp_path / "rows.npy", mmap_mode="r"), block_rows=50, eps=1e-7)
    assert ranks[0]["center"] == ranks[1]["center"] == center.tolist()  # float64 lists: equal bit for bit
    assert ranks[0]["blocks"] == list(range(0, 30, 2)) and ranks[1]["blocks"] == list(range(1, 30, 2))
    per_class = options["batches"]
    assert len(ranks[0]["herded"]) == 2 * -(-per_class // 2)  # two classes, batches 0, 2 (, 4) of each
    assert len(ranks[1]["herded"]) == 2 * (per_class // 2)
    assert sum(ranks[0]["herded"]) + sum(ranks[1]["herded"]) == 1500  # every row herded once, by one process


TRANSFORM_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import torch
    from datasets import Dataset
    from hfplug.data import DataContext
    import hfplug_gm_matching.selectors as selectors
    from hfplug_gm_matching.config import GMMatchingConfig
    from hfplug_gm_matching.transform import gm_matching

    torch.set_num_threads(1)
    out, path = sys.argv[1], sys.argv[2]
    torch.distributed.init_process_group("gloo")
    herded = []
    real_herd = selectors.herd
    selectors.herd = lambda members, *args, **kwargs: herded.append(len(members)) or real_herd(members, *args, **kwargs)
    rows = np.load(path)
    dataset = Dataset.from_dict({"embedding": rows.tolist(), "row": list(range(len(rows)))})
    kept = gm_matching(dataset, GMMatchingConfig(k=40, batches=3, use_cache=False, progress=False), DataContext(seed=1))
    with open(f"{out}/rank{torch.distributed.get_rank()}.json", "w") as handle:
        json.dump({"rows": list(kept["row"]), "herded": herded}, handle)
    """
)


def test_the_transform_under_a_launch_shares_the_batches_and_keeps_the_rows_one_process_keeps(tmp_path):
    from datasets import Dataset
    from hfplug_gm_matching.config import GMMatchingConfig
    from hfplug_gm_matching.transform import gm_matching

    from hfplug.data import DataContext

    rows = (np.random.default_rng(1).standard_normal((300, 8)) + 1.0).astype(np.float32)
    np.save(tmp_path / "rows.npy", rows)
    run_data_parallel(TRANSFORM_SCRIPT, tmp_path, str(tmp_path), str(tmp_path / "rows.npy"))
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in range(2)]
    dataset = Dataset.from_dict({"embedding": rows.tolist(), "row": list(range(300))})
    config = GMMatchingConfig(k=40, batches=3, use_cache=False, progress=False)
    alone = list(gm_matching(dataset, config, DataContext(seed=1))["row"])
    assert ranks[0]["rows"] == ranks[1]["rows"] == alone
    assert len(ranks[0]["herded"]) == 2 and len(ranks[1]["herded"]) == 1  # batches 0, 2 and batch 1
