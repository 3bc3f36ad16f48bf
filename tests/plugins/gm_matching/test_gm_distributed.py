"""The embedding pass under a two-process launch (torchrun, as `accelerate launch` starts it): each process
encodes its shard, and both end with the full matrix a single process computes, and the same selection."""

from __future__ import annotations

import json
import textwrap

import numpy as np

from hfplug.testing import run_data_parallel

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    import torch
    from datasets import Dataset
    from hfplug.testing import make_tiny_model, make_tiny_tokenizer
    from hfplug_gm_matching import select
    from hfplug_gm_matching.embed import TextEncoder, embed_dataset

    torch.set_num_threads(1)
    out, model_dir = sys.argv[1], sys.argv[2]
    rank = int(os.environ["RANK"])
    if rank == 0 and not os.path.exists(os.path.join(model_dir, "config.json")):
        tokenizer = make_tiny_tokenizer()
        make_tiny_model(tokenizer).save_pretrained(model_dir)
        tokenizer.save_pretrained(model_dir)
    torch.distributed.init_process_group("gloo")
    torch.distributed.barrier()
    texts = [f"row {i}: " + "word " * (i % 5) for i in range(21)]
    encoder = TextEncoder(model_dir)
    matrix = embed_dataset(Dataset.from_dict({"text": texts}), encoder=model_dir, cache_dir=out, text_encoder=encoder)
    picks = select(matrix, 5).tolist()
    with open(f"{out}/rank{rank}.json", "w") as handle:
        json.dump({"calls": encoder.calls, "matrix": matrix.tolist(), "picks": picks}, handle)
    torch.distributed.destroy_process_group()
    """
)


def test_two_processes_share_the_embedding_work_and_agree(tmp_path):
    model_dir = tmp_path / "encoder"
    run_data_parallel(SCRIPT, tmp_path, str(tmp_path), str(model_dir))
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in range(2)]
    assert ranks[0]["matrix"] == ranks[1]["matrix"] and ranks[0]["picks"] == ranks[1]["picks"]
    assert len(ranks[0]["matrix"]) == 21
    assert all(r["calls"] == 1 for r in ranks)  # 11 and 10 rows: one batch each, no process encoded it all
    assert len(list((tmp_path / "gm_matching").glob("embeddings-*-of-00002.arrow"))) == 2

    from datasets import Dataset
    from hfplug_gm_matching.embed import embed_dataset

    texts = [f"row {i}: " + "word " * (i % 5) for i in range(21)]
    single = embed_dataset(Dataset.from_dict({"text": texts}), encoder=str(model_dir), cache_dir=None)
    np.testing.assert_allclose(np.array(ranks[0]["matrix"]), single, atol=1e-5)
