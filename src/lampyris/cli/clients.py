"""``lampyris clients add | list | remove``: who may ask the server for tokens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from lampyris.cli.console import out as console
from lampyris.errors import InvalidParameterError

if TYPE_CHECKING:
    from lampyris.api.clients import ClientRegistry

clients_app = typer.Typer(help="Add, list and remove API clients (id + secret).",
                          no_args_is_help=True)

_DATA_DIR = typer.Option(None, help="The server's data dir. [env LAMPYRIS_DATA_DIR]")
_DATABASE = typer.Option(None, help="The server's database URL. [env LAMPYRIS_DATABASE_URL]")


def _registry(data_dir: Path | None, database_url: str | None) -> ClientRegistry:
    # Imported here, not above: help and argument errors need neither the server nor a database.
    from lampyris.api.clients import ClientRegistry
    from lampyris.api.settings import ServerSettings
    from lampyris.jobs.database import make_engine

    given = {"data_dir": data_dir, "database_url": database_url}
    overrides: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    settings = ServerSettings(**overrides)
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return ClientRegistry(make_engine(settings.database))


@clients_app.command("add")
def add(
    name: str = typer.Argument(..., help="A name to recognise the client by."),
    data_dir: Path | None = _DATA_DIR,
    database_url: str | None = _DATABASE,
    as_json: bool = typer.Option(False, "--json", help="Print {client_id, client_secret}."),
) -> None:
    """Create a client and print its id and secret (the secret is shown only now)."""
    try:
        client, secret = _registry(data_dir, database_url).add(name)
    except InvalidParameterError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps({"name": client.name, "client_id": client.id,
                               "client_secret": secret}))
        return
    console.print(f"client_id:     {client.id}\nclient_secret: {secret}")
    console.print("[dim]Store the secret now: only its hash is kept.[/dim]")


@clients_app.command("list")
def list_clients(data_dir: Path | None = _DATA_DIR, database_url: str | None = _DATABASE,
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Show every client (ids and names; secrets are never shown again)."""
    clients = _registry(data_dir, database_url).list()
    if as_json:
        typer.echo(json.dumps([{"name": c.name, "client_id": c.id,
                                "created": c.created.isoformat()} for c in clients]))
        return
    table = Table("name", "client_id", "created")
    for c in clients:
        table.add_row(c.name, c.id, c.created.strftime("%Y-%m-%d %H:%M UTC"))
    console.print(table)


@clients_app.command("remove")
def remove(id_or_name: str = typer.Argument(..., help="Client id or name."),
           data_dir: Path | None = _DATA_DIR, database_url: str | None = _DATABASE) -> None:
    """Delete a client: its tokens stop working within seconds."""
    if not _registry(data_dir, database_url).remove(id_or_name):
        typer.echo(f"error: no client {id_or_name!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"removed {id_or_name}")
