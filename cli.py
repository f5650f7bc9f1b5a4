"""The flightbook command: a thin shell over the parts' use cases."""
from __future__ import annotations

import logging
import sys

import typer

from flightbook import wiring
from flightbook.kernel.migrations import migrate as apply_migrations
from flightbook.kernel.settings import Settings, SettingsError

app = typer.Typer(help="flightbook: flights, payments and loyalty — one process or four services.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def fail(message: str, code: int = 1):
    """One line on stderr, non-zero exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _system(serve: str | None = None) -> wiring.System:
    try:
        return wiring.build_system(Settings.from_env(), serve=serve)
    except (SettingsError, ValueError) as exc:
        fail(str(exc))


def migrate_local(system: wiring.System) -> dict:
    return {name: apply_migrations(name, part.database)
            for name, part in system.parts.items() if part.database is not None}


@app.command()
def migrate():
    """Apply pending migrations to every module's database (FLIGHTBOOK_<M>_DATABASE), wherever the
    module is served. Example: flightbook migrate"""
    from flightbook import MODULES

    for module in MODULES:
        system = _system(module)
        applied = apply_migrations(module, system.parts[module].database)
        system.close()
        typer.echo(f"{module}: {', '.join(applied) if applied else 'up to date'}")


@app.command()
def serve(
    part: str = typer.Argument(None, help="gateway, flights, payments or loyalty; none = everything"),
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(None, help="port (default 8000 for the gateway or everything, 8001-8003 per module)"),
    workers: int = typer.Option(2, min=1, max=64, help="gunicorn worker processes"),
    background: bool = typer.Option(True, help="run the hold sweeper and event relay in each worker"),
):
    """Serve under gunicorn. Example: flightbook serve  |  flightbook serve payments --port 8002"""
    from flightbook.kernel.part import JobRunner
    from flightbook.kernel.server import GunicornServer

    if part is not None and part not in wiring.PARTS:
        fail(f"unknown part {part!r}: choose one of {', '.join(wiring.PARTS)}")
    default_ports = {None: 8000, "gateway": 8000, "flights": 8001, "payments": 8002, "loyalty": 8003}
    port = port or default_ports[part]
    system = _system(part)
    migrate_local(system) if part is None else None
    system.close()
    state = {}

    def factory():
        state["system"] = wiring.build_system(Settings.from_env(), serve=part)
        return wiring.create_app(state["system"])

    def start_jobs():
        if background:
            runner = JobRunner(state["system"].jobs())
            runner.start()

    typer.echo(f"flightbook {part or 'all parts'} on http://{host}:{port}")
    GunicornServer(factory, {"bind": f"{host}:{port}", "workers": workers, "preload_app": False,
                             "accesslog": "-", "timeout": 60, "graceful_timeout": 10},
                   on_worker_start=start_jobs).run()


@app.command("create-admin")
def create_admin(
    username: str = typer.Argument(..., help="the admin's username"),
    email: str = typer.Option(None, help="email (default USERNAME@localhost)"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                 help="read from a prompt, or from stdin when piped"),
):
    """Create an admin user. Example: echo 's3cret-pass' | flightbook create-admin alice"""
    from flightbook.contracts.flights import Registration
    from flightbook.kernel.errors import DomainError
    from flightbook.modules.flights import users

    system = _system("flights")
    migrate_local(system)
    try:
        user = users.register(Registration(username=username, email=email or f"{username}@localhost.localdomain",
                                           password=password, first_name=username, last_name="(admin)"),
                              is_admin=True)
    except DomainError as exc:
        fail(exc.message)
    typer.echo(f"admin {user.username} created (id {user.id})")


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app()


if __name__ == "__main__":
    sys.exit(main())
