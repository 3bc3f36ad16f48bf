"""``hfplug hispec-layers``: measure a model's exits and suggest HiSpec's draft and verify layers."""

from __future__ import annotations

import json

import click


@click.command("hispec-layers")
@click.argument("model_path")
@click.option("--prompt", "prompts", multiple=True, required=True, help="A typical prompt (repeat for more).")
@click.option("--max-new-tokens", default=32, show_default=True, help="Tokens generated per prompt to measure on.")
@click.option("--pass-overhead", default=1.0, show_default=True, help="Cost of one pass in layers, beyond its depth.")
@click.option(
    "--position-cost",
    default=0.0,
    show_default=True,
    help="Cost of each extra position in a pass, as a share of a one-position pass (about 0 on GPUs).",
)
@click.option("--device", default=None, help="Where to run the model, e.g. cuda or cpu (default: cuda when present).")
@click.option("--json", "as_json", is_flag=True, help="Print the measurements as JSON.")
def hispec_layers_command(
    model_path: str,
    prompts: tuple[str, ...],
    max_new_tokens: int,
    pass_overhead: float,
    position_cost: float,
    device: str | None,
    as_json: bool,
) -> None:
    """Suggest (draft_layer, verify_layer) for MODEL_PATH (a folder, asset:NAME or hub:ID)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hfplug.assets import resolve_model_path
    from hfplug_hispec.layer_choice import suggest_exit_layers

    local = resolve_model_path(model_path)
    tokenizer = AutoTokenizer.from_pretrained(local)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = AutoModelForCausalLM.from_pretrained(local).to(device).eval()
    choice = suggest_exit_layers(
        model,
        tokenizer,
        list(prompts),
        max_new_tokens=max_new_tokens,
        pass_overhead=pass_overhead,
        position_cost=position_cost,
    )
    if as_json:
        report = {
            "draft_layer": choice.draft_layer,
            "verify_layer": choice.verify_layer,
            "agreement": choice.agreement,
            "hispec_layer_passes_per_token": {f"{d},{i}": cost for (d, i), cost in choice.hispec_cost.items()},
            "self_spec_layer_passes_per_token": choice.self_spec_cost,
            "greedy_layer_passes_per_token": choice.greedy_cost,
        }
        click.echo(json.dumps(report, indent=2))
        return
    click.echo("exit  agreement with the full model")
    for layer, rate in choice.agreement.items():
        click.echo(f"{layer:>4}  {rate:.2f}")
    best = choice.hispec_cost[(choice.draft_layer, choice.verify_layer)]
    click.echo(
        f"suggested: draft_layer={choice.draft_layer} verify_layer={choice.verify_layer} "
        f"({best:.1f} layer passes per token; plain decoding {choice.greedy_cost:.1f})"
    )
