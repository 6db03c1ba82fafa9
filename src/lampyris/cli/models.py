"""``lampyris models list | pull | verify``: what is installed, fetch more, check files."""

from __future__ import annotations

import typer
from rich.table import Table

from lampyris.cli.console import err as errors
from lampyris.cli.console import out as console
from lampyris.errors import ModelError

models_app = typer.Typer(help="List, pull and verify background-removal models.",
                         no_args_is_help=True)


def _size(n: int | None) -> str:
    return f"{n / 1e6:.1f} MB" if n else "?"


@models_app.command("list")
def list_models() -> None:
    """Show every known model, whether it is available here, and where from."""
    # Imported here, not above: help and argument errors need none of the runtimes.
    from lampyris.models import REGISTRY, ModelStore, engine_for

    store = ModelStore()
    table = Table("name", "size", "available", "location / source", "description")
    for spec in REGISTRY.values():
        status = store.status(spec)
        where = str(status.path) if status.path else ", ".join(s.describe() for s in spec.sources)
        table.add_row(spec.name, _size(spec.size_bytes), "yes" if status.available else "no",
                      where, spec.description)
    console.print(table)
    console.print(f"cache: {store.cache_dir}")
    for spec in REGISTRY.values():
        if store.status(spec).available:
            choice = engine_for(spec, store=store)
            console.print(f"{spec.name} runs on {choice.label}: {choice.reason}", highlight=False)


@models_app.command("pull")
def pull(name: str = typer.Argument(..., help="Model name, see `lampyris models list`.")) -> None:
    """Fetch a model into the cache (the only command that uses the network) and verify it."""
    # Imported here, not above: help and argument errors need none of the runtimes.
    from lampyris.models import ModelStore, resolve_spec

    try:
        path = ModelStore().pull(resolve_spec(name))
    except ModelError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"{name}: {path} (sha256 verified)")


@models_app.command("verify")
def verify(
    names: list[str] = typer.Argument(None, help="Models to check; default: every available one."),
) -> None:
    """Check model files against their published sha256."""
    # Imported here, not above: help and argument errors need none of the runtimes.
    from lampyris.models import REGISTRY, ModelStore, resolve_spec

    store = ModelStore()
    try:
        specs = [resolve_spec(n) for n in names] if names else list(REGISTRY.values())
    except ModelError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    failed = False
    for spec in specs:
        if not names and store.locate(spec) is None:
            console.print(f"{spec.name}: not available (skipped)")
            continue
        try:
            path = store.verify(spec)
        except ModelError as exc:
            failed = True
            errors.print(f"[red]{spec.name}: {exc}[/red]")
            continue
        console.print(f"{spec.name}: ok ({path})")
    if failed:
        raise typer.Exit(1)
