"""``lampyris webhooks verify | log``: check a delivery's signature; read the delivery log."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from lampyris.cli.console import out as console

webhooks_app = typer.Typer(
    help="Check a webhook delivery's signature, and read the server's delivery log.",
    no_args_is_help=True)


@webhooks_app.command("verify")
def verify(
    body: Path = typer.Argument(..., help="The delivery's raw body, as received ('-': stdin).",
                                allow_dash=True),
    signature: str = typer.Option(..., "--signature", "-s",
                                  help="The X-Lampyris-Signature header's value."),
    secret: str = typer.Option(..., envvar="LAMPYRIS_WEBHOOK_SECRET",
                               help="The client's webhook secret. [env LAMPYRIS_WEBHOOK_SECRET]"),
    tolerance: float = typer.Option(300.0, min=0,
                                    help="Oldest signature accepted, in seconds (0: any age)."),
) -> None:
    """Check that a delivery was signed with SECRET and is recent; print its event (exit 0),
    else say why not (exit 1)."""
    from lampyris.client.webhooks import WebhookSignatureError, verify_webhook

    data = sys.stdin.buffer.read() if str(body) == "-" else _read(body)
    try:
        event = verify_webhook(secret, data, signature, tolerance=tolerance)
    except WebhookSignatureError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(event, indent=2))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        typer.echo(f"error: cannot read {path}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None


@webhooks_app.command("log")
def delivery_log(
    job: str | None = typer.Option(None, help="Only this job's deliveries."),
    state: list[str] = typer.Option([], help="Only deliveries in this state (pending, "
                                    "delivered, failed, waiting); repeatable."),
    limit: int = typer.Option(50, min=1, help="At most this many, newest first."),
    data_dir: Path | None = typer.Option(None, help="The server's data dir. "
                                         "[env LAMPYRIS_DATA_DIR]"),
    database_url: str | None = typer.Option(None, help="The server's database URL. "
                                            "[env LAMPYRIS_DATABASE_URL]"),
    as_json: bool = typer.Option(False, "--json", help="Every attempt, as JSON."),
) -> None:
    """The server's webhook deliveries: where each event went and what every attempt got."""
    from lampyris.cli.clients import open_engine
    from lampyris.jobs.webhook_log import WebhookLog

    wanted = [s for s in state if s in ("waiting", "pending", "delivered", "failed")]
    if len(wanted) != len(state):
        typer.echo("error: --state is one of waiting, pending, delivered, failed", err=True)
        raise typer.Exit(2)
    rows = WebhookLog(open_engine(data_dir, database_url)).list(
        job_id=job, states=wanted, limit=limit)  # type: ignore[arg-type]
    if as_json:
        typer.echo(json.dumps([{
            "id": d.id, "event_id": d.event_id, "event_type": d.event_type, "job_id": d.job_id,
            "url": d.url, "state": d.state, "attempts": d.attempts_log,
            "next_attempt": d.next_attempt.isoformat() if d.next_attempt else None,
        } for d in rows], indent=2))
        return
    from lampyris.storage.fetch import redact

    table = Table("event", "type", "job", "to", "state", "attempts", "last")
    for d in rows:
        last = d.attempts_log[-1] if d.attempts_log else {}
        table.add_row(d.event_id or "-", d.event_type or "-", d.job_id or "-", redact(d.url),
                      d.state, str(d.attempts),
                      str(last.get("status") or last.get("error") or "-")[:60])
    console.print(table)
