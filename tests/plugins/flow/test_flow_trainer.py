"""FlowTrainer: the weighted loss, the columns carried through trl, epochs, resume, errors."""

from __future__ import annotations

import pytest
import torch
from hfplug_flow.config import FlowConfig
from hfplug_flow.trainer import FlowTrainer
from hfplug_flow.weighting import compute_flow_weights
from trl import SFTConfig, SFTTrainer

import hfplug
from hfplug.errors import ConfigError, DatasetError
from hfplug.testing import fast_cpu_config, make_tiny_model


def first_batch(trainer) -> dict:
    trainer.model.train()
    return trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))


def gradients(model) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


def test_trainer_loads_by_name():
    assert hfplug.load("trainer", "flow") is FlowTrainer
    assert hfplug.load_config("trainer", "flow") is FlowConfig


def test_all_weights_one_is_exactly_the_standard_loss(tiny_tokenizer, qa_dataset, flow_args, tmp_path):
    ones = qa_dataset.add_column("flow_weight", [1.0] * len(qa_dataset))
    flow_model, sft_model = make_tiny_model(tiny_tokenizer), make_tiny_model(tiny_tokenizer)
    flow = FlowTrainer(flow_model, args=flow_args(), train_dataset=ones, processing_class=tiny_tokenizer)
    sft_args = fast_cpu_config(SFTConfig, tmp_path / "sft")
    sft = SFTTrainer(sft_model, args=sft_args, train_dataset=qa_dataset, processing_class=tiny_tokenizer)
    flow_loss = flow.compute_loss(flow_model, first_batch(flow))
    sft_loss = sft.compute_loss(sft_model, first_batch(sft))
    assert torch.equal(flow_loss, sft_loss)
    flow_loss.backward()
    sft_loss.backward()
    assert torch.equal(gradients(flow_model), gradients(sft_model))


def test_sequence_mode_gives_every_token_its_sample_weight(tiny_model, tiny_tokenizer, qa_dataset, flow_args):
    weighted = compute_flow_weights(tiny_model, tiny_tokenizer, qa_dataset)
    trainer = FlowTrainer(tiny_model, args=flow_args(), train_dataset=weighted, processing_class=tiny_tokenizer)
    batch = first_batch(trainer)
    token_weights = batch["flow_token_weight"]
    real = batch["attention_mask"].bool()
    column = set(weighted["flow_weight"])
    for row in range(token_weights.shape[0]):
        values = token_weights[row][real[row]]
        assert torch.all(values == values[0]) and float(values[0]) in {float(torch.tensor(w)) for w in column}
        assert torch.all(token_weights[row][~real[row]] == 0)
    # and the loss is sum_i w_i * sum_t l_it / N_tokens
    loss = trainer.compute_loss(tiny_model, dict(batch))
    with torch.no_grad():
        outputs = tiny_model(**{k: v for k, v in batch.items() if k != "flow_token_weight"}, fused_lm_head=True)
    expected = -(token_weights[:, 1:] * outputs.log_probs).sum() / outputs.label_mask.sum()
    assert float(loss.detach()) == pytest.approx(float(expected), rel=1e-6)


def test_token_mode_trains_on_the_weighted_tokens(tiny_model, tiny_tokenizer, qa_dataset, flow_args):
    weighted = compute_flow_weights(tiny_model, tiny_tokenizer, qa_dataset, mode="token")
    trainer = FlowTrainer(
        tiny_model, args=flow_args(flow_mode="token"), train_dataset=weighted, processing_class=tiny_tokenizer
    )
    batch = first_batch(trainer)
    by_ids = {tuple(r["input_ids"]): r["flow_token_weights"] for r in weighted}
    for row in range(batch["input_ids"].shape[0]):
        length = int(batch["attention_mask"][row].sum())
        stored = by_ids[tuple(batch["input_ids"][row, :length].tolist())]
        assert batch["flow_token_weight"][row, :length].tolist() == pytest.approx(stored)
    trainer.train()
    assert "flow/weight_mean" in trainer.state.log_history[0]


def test_token_mode_loss_matches_an_independent_computation(tiny_model, tiny_tokenizer, qa_dataset, flow_args):
    """loss = sum over rows and target tokens t of w_t * nll(token t | tokens < t), over the number of targets;
    computed here from the stored columns and a plain forward (no fused head, no shifted weight tensor)."""
    weighted = compute_flow_weights(tiny_model, tiny_tokenizer, qa_dataset, mode="token")
    assert len(set(weighted[0]["flow_token_weights"])) > 2  # weights vary along a row, so a shift shows
    trainer = FlowTrainer(
        tiny_model, args=flow_args(flow_mode="token"), train_dataset=weighted, processing_class=tiny_tokenizer
    )
    batch = first_batch(trainer)
    loss = trainer.compute_loss(tiny_model, dict(batch))

    by_ids = {tuple(row["input_ids"]): row for row in weighted}
    total, targets = 0.0, 0
    with torch.no_grad():
        for row in range(batch["input_ids"].shape[0]):
            length = int(batch["attention_mask"][row].sum())
            stored = by_ids[tuple(batch["input_ids"][row, :length].tolist())]
            ids = torch.tensor([stored["input_ids"]])
            log_probs = tiny_model(input_ids=ids).logits[0].double().log_softmax(-1)
            for t, (token, label, weight) in enumerate(
                zip(stored["input_ids"], stored["labels"], stored["flow_token_weights"], strict=True)
            ):
                if t > 0 and label != -100:
                    total += weight * -float(log_probs[t - 1, token])
                    targets += 1
    assert float(loss.detach()) == pytest.approx(total / targets, rel=1e-5)


class RecordingFlowTrainer(FlowTrainer):
    """Records (epoch, input_ids, weight) of every training row it sees."""

    seen: list

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training:
            for ids, weights in zip(inputs["input_ids"], inputs["flow_token_weight"], strict=True):
                self.seen.append((int(self.state.global_step), tuple(ids.tolist()), float(weights[0])))
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


def test_weights_are_identical_across_epochs_and_after_resume(tiny_tokenizer, qa_dataset, flow_args, tmp_path):
    base = make_tiny_model(tiny_tokenizer)
    weighted = compute_flow_weights(base, tiny_tokenizer, qa_dataset)
    expected = dict(zip(weighted["completion"], weighted["flow_weight"], strict=True))
    args = flow_args(
        max_steps=-1, num_train_epochs=2, per_device_train_batch_size=1, save_strategy="steps", save_steps=7
    )
    RecordingFlowTrainer.seen = []
    RecordingFlowTrainer(base, args=args, train_dataset=weighted, processing_class=tiny_tokenizer).train()
    full_run = list(RecordingFlowTrainer.seen)
    assert len(full_run) == 14

    def completion_of(ids):
        text = tiny_tokenizer.decode(list(ids))
        return next(c for c in expected if text.endswith(c + tiny_tokenizer.eos_token))

    for epoch in (full_run[:7], full_run[7:]):
        seen = {completion_of(ids): w for _, ids, w in epoch}
        assert seen == pytest.approx(expected)  # every sample, each with its precomputed weight

    # Resume from the end of epoch 1 (checkpoint-7): epoch 2 sees the same samples with the same weights.
    RecordingFlowTrainer.seen = []
    resumed = RecordingFlowTrainer(
        make_tiny_model(tiny_tokenizer), args=args, train_dataset=weighted, processing_class=tiny_tokenizer
    )
    resumed.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-7"))
    assert RecordingFlowTrainer.seen == full_run[7:]


def test_lora_training_works(tiny_model, tiny_tokenizer, qa_dataset, flow_args):
    from peft import LoraConfig

    weighted = compute_flow_weights(tiny_model, tiny_tokenizer, qa_dataset)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    trainer = FlowTrainer(
        tiny_model,
        args=flow_args(max_steps=2),
        train_dataset=weighted,
        processing_class=tiny_tokenizer,
        peft_config=lora,
    )
    trainer.train()
    assert "flow/weight_mean" in trainer.state.log_history[0]


def test_missing_weight_column_says_how_to_get_it(tiny_model, tiny_tokenizer, qa_dataset, flow_args):
    with pytest.raises(DatasetError, match=r"flow_weight.*flow_weights data transform"):
        FlowTrainer(tiny_model, args=flow_args(), train_dataset=qa_dataset, processing_class=tiny_tokenizer)
    with_weights = qa_dataset.add_column("flow_weight", [1.0] * len(qa_dataset))
    with pytest.raises(DatasetError, match="flow_token_weights"):
        FlowTrainer(tiny_model, args=flow_args(flow_mode="token"), train_dataset=with_weights)


def test_empty_dataset_and_bad_weights_are_named(tiny_model, tiny_tokenizer, qa_dataset, flow_args):
    empty = qa_dataset.select([]).add_column("flow_weight", [])
    with pytest.raises(DatasetError, match="empty"):
        FlowTrainer(tiny_model, args=flow_args(), train_dataset=empty)
    nan = qa_dataset.add_column("flow_weight", [1.0, float("nan"), 1.0, 1.0, -1.0, 1.0, 1.0])
    with pytest.raises(DatasetError, match=r"rows 1, 4"):
        FlowTrainer(tiny_model, args=flow_args(), train_dataset=nan)


@pytest.mark.parametrize(
    ("fields", "named"),
    [({"flow_mode": "batch"}, "flow_mode"), ({"packing": True}, "packing"), ({"loss_type": "dft"}, "loss_type")],
)
def test_bad_config_values_are_named(flow_args, fields, named):
    with pytest.raises(ConfigError, match=named):
        flow_args(**fields)
