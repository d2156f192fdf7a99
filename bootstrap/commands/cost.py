"""`bootstrap cost`: the estimated monthly cost of each stage, from the offline plan or a preview."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bootstrap.options import AllStacksOpt, JsonOpt, RepoOpt, StackOpt, VerboseOpt

UsageOpt = Annotated[
    Path | None,
    typer.Option(
        "--usage",
        metavar="FILE",
        help="A YAML file of usage assumptions (traffic, logs, ...); docs/cost.md lists the keys.",
        dir_okay=False,
    ),
]
OfflineOpt = Annotated[
    bool,
    typer.Option("--offline", help="Price the offline plan (Pulumi mocks), even with the CLI."),
]
RefreshOpt = Annotated[
    bool,
    typer.Option(
        "--refresh-prices",
        help="Update the local price cache from AWS's public Price List first (network).",
    ),
]


def cost(
    stage: StackOpt = None,
    all_stacks: AllStacksOpt = False,
    usage_file: UsageOpt = None,
    offline: OfflineOpt = False,
    refresh_prices: RefreshOpt = False,
    json_output: JsonOpt = False,
    repo: RepoOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Estimate what each stage costs per month (USD), per resource and per cost component."""
    from bootstrap import lifecycle, ui
    from bootstrap.accounts import stack_regions
    from bootstrap.automation import INSTALL_COMMAND, cli_available
    from bootstrap.cost import estimate, load_usage, to_json
    from bootstrap.cost import prices as prices_mod
    from bootstrap.cost.render import report_lines
    from bootstrap.cost.usage import Usage

    project = lifecycle.open_project(repo)
    spec = project.spec
    stacks = lifecycle.select_stacks(spec, stage=stage, all_stacks=all_stacks)
    usage = load_usage(usage_file, spec.stacks) if usage_file else Usage()
    regions = stack_regions(project.repo, spec, stacks)
    if refresh_prices:
        _refresh(sorted(set(regions.values())), quiet=json_output)
    book = prices_mod.load()

    if not offline and not cli_available():
        if not json_output:
            ui.info(
                f"Pulumi CLI not found: pricing the offline plan (for a real preview: {INSTALL_COMMAND})"
            )
        offline = True
    if offline:
        plans = lifecycle.plan_offline(project, stacks, quiet=json_output)
    else:
        plans = lifecycle.preview_stacks(project, stacks, verbose=verbose, quiet=json_output)

    report = estimate(
        plans,
        region=spec.region,
        regions=regions,
        usage=usage,
        prices=book,
        lifecycle=spec.stage_names,
        project=spec.name,
    )
    if json_output:
        ui.print_json(to_json(report))
        return
    for line in report_lines(report):
        ui.out.print(line, soft_wrap=True)


def _refresh(regions: list[str], *, quiet: bool) -> None:
    """Refresh the cache for `regions` (those of the stacks priced); without network, say so and
    go on with what is there."""
    from bootstrap import ui
    from bootstrap.cost import offers
    from bootstrap.cost import prices as prices_mod

    book = prices_mod.load()
    keys = sorted({key for region in regions for key in offers.wanted_keys(book, region)})
    named = ", ".join(regions)
    try:
        with ui.step(
            f"Refreshing {named} prices from the AWS Price List",
            f"refreshed {named} prices from the AWS Price List",
            quiet=quiet,
        ):
            refreshed = offers.build_document(regions, keys, offers.http_fetch)
            offers.merge_into(prices_mod.cache_path(), refreshed.document)
    except (OSError, ValueError, KeyError) as exc:
        ui.warn(
            f"could not refresh prices from the AWS Price List ({type(exc).__name__}: {exc}); "
            "using the prices already here (their dates are shown with the estimate)"
        )
        return
    for missing_region, keys_missing in refreshed.missing.items():
        ui.warn(f"{missing_region}: no rate found for {', '.join(sorted(keys_missing))}")
