"""AE-MMD from Python: train on sklearn digits with a hybrid prior, then score the codes.

python examples/mmd_prior/train_mmd_ae.py            # digits, 40 epochs (about a minute of CPU)
python examples/mmd_prior/train_mmd_ae.py --tiny     # 2 epochs, a few seconds
"""

from __future__ import annotations

import argparse

import evaluate
import hfplug_mmd_prior as mp
import torch
from datasets import concatenate_datasets

import hfplug
from hfplug.datasets_io import load_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="2 epochs instead of 40")
    parser.add_argument("--output_dir", default="outputs/mmd-ae-digits")
    cli = parser.parse_args()
    torch.set_num_threads(1)

    train = load_split("asset:digits", split="train")
    Trainer, Config = hfplug.load("trainer", "mmd_ae"), hfplug.load_config("trainer", "mmd_ae")
    args = Config(
        output_dir=cli.output_dir,
        objective="mmd",
        latent_dim=4,
        # two Gaussian dimensions and two uniform ones: the codes take the shape you ask for
        prior={"name": "hybrid", "marginals": [{"name": "gaussian", "dims": 2}, {"name": "uniform", "dims": 2}]},
        prior_weight=1.0,
        hidden_sizes=[128, 128],
        num_train_epochs=2 if cli.tiny else 40,
        per_device_train_batch_size=128,
        learning_rate=2e-3,
        logging_steps=50,
        save_strategy="no",
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
    )
    trainer = Trainer(args=args, train_dataset=train)
    trainer.train()
    trainer.save_model(cli.output_dir)

    model = mp.MMDAutoencoder.from_pretrained(cli.output_dir)
    everything = concatenate_datasets([train, load_split("asset:digits", split="test")])
    encoded = mp.encode_dataset(model, everything)
    lps = evaluate.load(hfplug.load("metric", "lps"))  # the evaluate module, offline
    print(f"NMSE {encoded.nmse_db:.2f} dB, covariance ratio {mp.covariance_ratio(encoded.latents):.2f}")
    print(f"LPS (gbm) {lps.compute(latents=encoded.latents, regressor='gbm')['lps']:.3f}")
    print(f"MMD^2 to the prior {mp.mmd2(encoded.latents, mp.build_prior(args.prior, 4).sample(len(everything))):.4f}")


if __name__ == "__main__":
    main()
