"""``hfplug push``: upload a trained folder or a decoding strategy to the Hub with a provenance card."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("push")
@click.argument("output_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("repo_id")
@click.option("--private", is_flag=True, help="Create the repo private (an existing repo keeps its visibility).")
@click.option("--revision", default=None, help="Branch to commit to; created from main when missing.")
@click.option("--commit-message", default=None, help="Commit title (default: 'Upload <kind> with hfplug').")
@click.option("--create-pr", is_flag=True, help="Open a pull request against main instead of committing to it.")
@click.option("--delete-existing", is_flag=True, help="Remove repo files that OUTPUT_DIR does not have.")
@click.option("--include-checkpoints", is_flag=True, help="Also upload checkpoint-* folders and runs/ logs.")
def push(
    output_dir: Path,
    repo_id: str,
    private: bool,
    revision: str | None,
    commit_message: str | None,
    create_pr: bool,
    delete_existing: bool,
    include_checkpoints: bool,
) -> None:
    """Push OUTPUT_DIR (a model, PEFT adapter, mixin model, dataset or custom_generate folder) to REPO_ID.

    The folder's kind is detected, README.md gets a provenance card (plugins and versions, base model,
    config, datasets, metrics, the pip line to reproduce), and everything is uploaded in one commit.
    """
    from hfplug.hub import HubError, detect_kind
    from hfplug.hub import push as push_folder

    try:
        kind = detect_kind(output_dir)
        click.echo(f"Pushing {kind} folder {output_dir} to {repo_id} ...", err=True)
        url = push_folder(
            output_dir,
            repo_id,
            private=private,
            revision=revision,
            commit_message=commit_message,
            create_pr=create_pr,
            delete_existing=delete_existing,
            include_checkpoints=include_checkpoints,
        )
    except HubError as error:
        raise click.ClickException(str(error)) from error
    click.echo(url)
