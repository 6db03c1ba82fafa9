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
    from sqlalchemy import Engine

    from lampyris.api.clients import ClientRegistry

clients_app = typer.Typer(help="Add, list and remove API clients (id + secret).",
                          no_args_is_help=True)

_DATA_DIR = typer.Option(None, help="The server's data dir. [env LAMPYRIS_DATA_DIR]")
_DATABASE = typer.Option(None, help="The server's database URL. [env LAMPYRIS_DATABASE_URL]")


def open_engine(data_dir: Path | None, database_url: str | None) -> Engine:
    """The server's database, from the options or the environment as ``serve`` finds it."""
    # Imported here, not above: help and argument errors need neither the server nor a database.
    from lampyris.api.settings import ServerSettings
    from lampyris.jobs.database import make_engine

    given = {"data_dir": data_dir, "database_url": database_url}
    overrides: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    settings = ServerSettings(**overrides)
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.database)


def _registry(data_dir: Path | None, database_url: str | None) -> ClientRegistry:
    from lampyris.api.clients import ClientRegistry

    return ClientRegistry(open_engine(data_dir, database_url))


def _checked_webhook(url: str) -> str:
    """A client's webhook URL, refused now if the SSRF guard would refuse it later."""
    from lampyris.errors import StorageError
    from lampyris.storage import StorageSettings
    from lampyris.storage.guard import UrlGuard

    try:
        UrlGuard(StorageSettings()).check(url)
    except StorageError as exc:
        typer.echo(f"error: --webhook: {exc}", err=True)
        raise typer.Exit(2) from None
    return url


@clients_app.command("add")
def add(
    name: str = typer.Argument(..., help="A name to recognise the client by."),
    data_dir: Path | None = _DATA_DIR,
    database_url: str | None = _DATABASE,
    as_json: bool = typer.Option(False, "--json", help="Print {client_id, client_secret, "
                                 "webhook_secret}."),
    webhook: str | None = typer.Option(None, "--webhook", metavar="URL",
                                       help="Tell this URL of every job the client submits "
                                       "(docs/webhooks.md)."),
) -> None:
    """Create a client and print its id, secret and webhook signing secret (shown only
    now)."""
    from lampyris.api.client_webhooks import ClientWebhooks

    registry = _registry(data_dir, database_url)
    try:
        client, secret = registry.add(name, _checked_webhook(webhook) if webhook else None)
    except InvalidParameterError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    signing = ClientWebhooks(registry.engine).secret(client.id)
    if as_json:
        typer.echo(json.dumps({"name": client.name, "client_id": client.id,
                               "client_secret": secret, "webhook_secret": signing,
                               "webhook": webhook}))
        return
    console.print(f"client_id:      {client.id}\nclient_secret:  {secret}\n"
                  f"webhook_secret: {signing}")
    console.print("[dim]Store both secrets now: they are not shown again (the webhook secret "
                  "signs the events sent to the client's callbacks).[/dim]")


@clients_app.command("webhook")
def set_webhook(
    id_or_name: str = typer.Argument(..., help="Client id or name."),
    url: str | None = typer.Option(None, "--url", help="Tell this URL of every job."),
    no_url: bool = typer.Option(False, "--no-url", help="Stop telling the client's URL."),
    rotate: bool = typer.Option(False, "--rotate", help="Make a new signing secret (printed "
                                "once; the old one stops working at once)."),
    data_dir: Path | None = _DATA_DIR,
    database_url: str | None = _DATABASE,
) -> None:
    """Change a client's webhook URL or signing secret (a client made before webhooks gets its
    first secret from --rotate)."""
    from lampyris.api.client_webhooks import ClientWebhooks

    registry = _registry(data_dir, database_url)
    found = [c for c in registry.list() if id_or_name in (c.id, c.name)]
    if not found:
        typer.echo(f"error: no client {id_or_name!r}: `lampyris clients list` shows them",
                   err=True)
        raise typer.Exit(1)
    hooks = ClientWebhooks(registry.engine)
    had = hooks.get(found[0].id)
    hook = hooks.set(found[0].id, url=_checked_webhook(url) if url else None, clear_url=no_url,
                     rotate=rotate)
    console.print(f"webhook:        {hook.url or '(none)'}")
    if rotate or had is None:
        console.print(f"webhook_secret: {hook.secret}\n[dim]Store it now: it is not shown "
                      "again.[/dim]")


@clients_app.command("list")
def list_clients(data_dir: Path | None = _DATA_DIR, database_url: str | None = _DATABASE,
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Show every client (ids, names and webhook URLs; secrets are never shown again)."""
    from lampyris.api.client_webhooks import ClientWebhooks

    registry = _registry(data_dir, database_url)
    clients = registry.list()
    hooks = ClientWebhooks(registry.engine)
    urls = {c.id: hook.url if (hook := hooks.get(c.id)) else None for c in clients}
    if as_json:
        typer.echo(json.dumps([{"name": c.name, "client_id": c.id,
                                "created": c.created.isoformat(), "webhook": urls[c.id]}
                               for c in clients]))
        return
    table = Table("name", "client_id", "created", "webhook")
    for c in clients:
        table.add_row(c.name, c.id, c.created.strftime("%Y-%m-%d %H:%M UTC"),
                      urls[c.id] or "-")
    console.print(table)


@clients_app.command("remove")
def remove(id_or_name: str = typer.Argument(..., help="Client id or name."),
           data_dir: Path | None = _DATA_DIR, database_url: str | None = _DATABASE) -> None:
    """Delete a client: its tokens stop working within seconds."""
    if not _registry(data_dir, database_url).remove(id_or_name):
        typer.echo(f"error: no client {id_or_name!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"removed {id_or_name}")
