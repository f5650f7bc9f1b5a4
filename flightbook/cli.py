"""The flightbook command: a thin shell over the parts' use cases, reached through the wiring and the modules'
contracts and admin interfaces (never a module's insides). The top-level ``cli.py`` is its entry point."""
from __future__ import annotations

import datetime as dt
import logging
import re
import sys
import time
from typing import NoReturn

import peewee
import typer
from rich.progress import Progress, TaskID

from flightbook import MODULES, ROOT, wiring
from flightbook.contracts.flights import Registration
from flightbook.kernel import clock, outbox
from flightbook.kernel.errors import Conflict, DomainError
from flightbook.kernel.part import JobRunner
from flightbook.kernel.relay import RelayPolicy
from flightbook.kernel.server import GunicornServer
from flightbook.kernel.settings import Settings, SettingsError

app = typer.Typer(help="flightbook: flights, payments and loyalty — one process or four services.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, non-zero exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _system(serve: str | None = None) -> wiring.System:
    try:
        return wiring.build_system(Settings.from_env(), serve=serve)
    except (SettingsError, ValueError) as exc:
        fail(str(exc))


def _database_trouble(exc: Exception) -> str:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
    return f"database unavailable: {first_line}"


def _module_system(module: str) -> wiring.System:
    """``module`` built here on its migrated database (a one-line error when the database is unreachable)."""
    system = _system(module)
    try:
        wiring.migrate(system, module)
    except peewee.DatabaseError as exc:
        system.close()
        fail(f"{module} {_database_trouble(exc)}")
    return system


@app.command()
def migrate():
    """Apply pending migrations to every module's database (FLIGHTBOOK_<M>_DATABASE), wherever the
    module is served. Example: flightbook migrate"""
    for module in MODULES:
        system = _system(module)
        try:
            applied = wiring.migrate(system, module)[module]
        except peewee.DatabaseError as exc:
            fail(f"{module} {_database_trouble(exc)}")
        finally:
            system.close()
        typer.echo(f"{module}: {', '.join(applied) if applied else 'up to date'}")


@app.command()
def serve(
    part: str | None = typer.Argument(None, help="gateway, flights, payments or loyalty; none = everything"),
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(None, help="port (default 8000 for the gateway or everything, 8001-8003 per module)"),
    workers: int = typer.Option(2, min=1, max=64, help="gunicorn worker processes"),
    threads: int = typer.Option(4, min=1, max=64,
                                help="threads per worker: a part waiting on another part keeps serving"),
    background: bool = typer.Option(True, help="run the hold sweeper and event relay in each worker"),
):
    """Serve under gunicorn. Example: flightbook serve  |  flightbook serve payments --port 8002"""
    if part is not None and part not in wiring.PARTS:
        fail(f"unknown part {part!r}: choose one of {', '.join(wiring.PARTS)}")
    default_ports = {None: 8000, "gateway": 8000, "flights": 8001, "payments": 8002, "loyalty": 8003}
    port = port or default_ports[part]
    system = _system(part)
    try:
        if part is None:
            wiring.migrate(system)
    except peewee.DatabaseError as exc:
        fail(_database_trouble(exc))
    finally:
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
    GunicornServer(factory, {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "preload_app": False,
                             "accesslog": "-", "timeout": 60, "graceful_timeout": 10},
                   on_worker_start=start_jobs).run()


def _password_once() -> str:
    """The password: asked twice at a terminal, else the first line of stdin (``echo pw | ...``)."""
    if sys.stdin.isatty():
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@app.command("create-admin")
def create_admin(
    username: str = typer.Argument(..., help="the admin's username"),
    email: str = typer.Option(None, help="email (default USERNAME@localhost.localdomain)"),
):
    """Create an admin user; the password is prompted for, or read from stdin when piped.
    Example: echo 's3cret-pass' | flightbook create-admin alice"""
    password = _password_once()
    system = _module_system("flights")
    try:
        user = wiring.flights_admin(system).create_admin(username, password, email)
    except DomainError as exc:
        fail(exc.message)
    finally:
        system.close()
    typer.echo(f"admin {user.username} created (id {user.id})")


class _Progress:
    """A rich progress bar when stdout is a terminal; otherwise nothing. Call it with (done, total)."""

    def __init__(self, label: str):
        self._label = label
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self):
        if sys.stdout.isatty():
            self._bar = Progress(transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self._label, total=None)
        return self

    def __call__(self, done: int, total: int):
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done, total=total)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()


def load_airports(admin, csv_path) -> str:
    with _Progress("airports") as progress:
        result = admin.import_airports(csv_path, progress=progress)
    return (f"airports: {result.read} read, {result.added} added, {result.updated} updated, "
            f"{result.unchanged} unchanged")


def load_connection_times(admin, csv_path) -> str:
    result = admin.import_connection_times(csv_path)
    return (f"connection times: {result.read} airports read, {result.added} added, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.removed} removed (back to the defaults)")


def load_flights(admin, schedule, start: dt.date, days: int) -> str:
    with _Progress("flights") as progress:
        result = admin.import_flights(schedule, start, days, progress=progress)
    return (f"flights: {result.schedules} schedules x {days} days from {start} = {result.dated} dated flights, "
            f"{result.added} added, {result.existing} already there")


@app.command("import-airports")
def import_airports(csv_path: str = typer.Argument(None, metavar="[CSV]", help="default data/airports.csv")):
    """Upsert airports by IATA code, all or nothing. Example: flightbook import-airports"""
    system = _module_system("flights")
    try:
        typer.echo(load_airports(wiring.flights_admin(system), csv_path))
    except DomainError as exc:
        fail(f"{exc.message} (nothing imported)")
    finally:
        system.close()


@app.command("import-connection-times")
def import_connection_times(csv_path: str = typer.Argument(None, metavar="[CSV]",
                                                           help="default data/connection_times.csv")):
    """Replace the per-airport minimum connection times with the file's (iata, same_country_minutes,
    international_minutes; empty = the default), all or nothing. Example: flightbook import-connection-times"""
    system = _module_system("flights")
    try:
        typer.echo(load_connection_times(wiring.flights_admin(system), csv_path))
    except DomainError as exc:
        fail(f"{exc.message} (nothing imported)")
    finally:
        system.close()


@app.command("generate-schedule")
def generate_schedule(
    airports_count: int = typer.Option(60, "--airports", min=2, max=5000, help="how many of the largest airports"),
    out: str = typer.Option(..., help="schedule CSV to write"),
    seed: int = typer.Option(1, help="same seed, same schedule"),
    airports_csv: str = typer.Option(None, "--airports-csv", help="airport data (default data/airports.csv)"),
):
    """Write a realistic weekly schedule. Example: flightbook generate-schedule --airports 80 --out data/schedule.csv"""
    system = _system("flights")  # reads the airports file only: no database work
    try:
        written = wiring.flights_admin(system).generate_schedule(airports_count, out, seed, airports_csv)
    except DomainError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    finally:
        system.close()
    typer.echo(f"schedule: {written.weekly_flights} weekly flights between {written.airports} airports "
               f"(~{written.flights_per_day:.0f} a day) written to {written.path}")


@app.command("import-flights")
def import_flights(
    schedule: str = typer.Argument(..., help="weekly schedule CSV"),
    start: str = typer.Option(..., help="first service date, YYYY-MM-DD (the origin's local date)"),
    days: int = typer.Option(..., help="how many days from --start (1-800)"),
):
    """Expand a weekly schedule into dated flights with seat inventory; re-importing changes nothing.
    Example: flightbook import-flights data/schedule.csv --start 2026-12-01 --days 30"""
    try:
        first = dt.date.fromisoformat(start)
    except ValueError:
        fail(f"--start is not a date YYYY-MM-DD: {start!r}")
    system = _module_system("flights")
    try:
        typer.echo(load_flights(wiring.flights_admin(system), schedule, first, days))
    except DomainError as exc:
        fail(f"{exc.message} (nothing imported)")
    finally:
        system.close()


DEMO_USERNAME, DEMO_PASSWORD = "demo", "demo-traveller-2026"


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(8000, help="port"),
    workers: int = typer.Option(2, min=1, max=64, help="gunicorn worker processes"),
    days: int = typer.Option(30, min=1, max=366, help="days of flights from today"),
    prepare_only: bool = typer.Option(False, "--prepare-only", help="prepare the data, do not serve"),
):
    """Embedded SQLite with airports, the sample schedule and a demo traveller; then serve. Example: flightbook demo"""
    system = _module_system("flights")
    admin = wiring.flights_admin(system)
    try:
        typer.echo(load_airports(admin, None))
        typer.echo(load_connection_times(admin, None))
        typer.echo(load_flights(admin, ROOT / "data" / "schedule.csv", dt.date.today(), days))
        try:
            admin.register(Registration(username=DEMO_USERNAME, email="demo@example.com", password=DEMO_PASSWORD,
                                        first_name="Demo", last_name="Traveller"))
        except Conflict:
            pass
    except DomainError as exc:
        fail(exc.message)
    finally:
        system.close()
    typer.echo(f"demo traveller: username {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r}")
    if not prepare_only:
        serve(part=None, host=host, port=port, workers=workers, threads=4, background=True)


@app.command("expire-points")
def expire_points(
    as_of: str = typer.Option(None, "--as-of", metavar="YYYY-MM-DD",
                              help="expire lots due by the start of this UTC day (default: now)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="count what would expire; change nothing"),
):
    """Expire loyalty points lots past their expiry. Example: flightbook expire-points --as-of 2027-01-01"""
    try:
        moment = dt.datetime.combine(dt.date.fromisoformat(as_of), dt.time(), clock.UTC) if as_of else None
    except ValueError:
        fail(f"--as-of must be a date YYYY-MM-DD, got {as_of!r}")
    system = _module_system("loyalty")
    try:
        report = wiring.loyalty_admin(system).expire_points(moment, dry_run=dry_run)
    except peewee.DatabaseError as exc:
        fail(f"loyalty {_database_trouble(exc)}")
    finally:
        system.close()
    verb = "would expire" if dry_run else "expired"
    typer.echo(f"{verb} {report.points} points in {report.accounts} accounts (as of {clock.iso(report.as_of)})")


@app.command("reconcile-payments")
def reconcile_payments(
    older_than: float = typer.Option(None, "--older-than", min=0, metavar="SECONDS",
                                     help="take attempts started at least this long ago (default: those whose "
                                          "lease, FLIGHTBOOK_PAYMENT_LEASE_SECONDS, has lapsed)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="list what would be reconciled; change nothing"),
):
    """Finish charges and refunds a crash left unfinished, asking the provider what became of each.
    Example: flightbook reconcile-payments --older-than 60"""
    system = _module_system("payments")
    try:
        report = wiring.payments_admin(system).reconcile(older_than, dry_run=dry_run)
    except peewee.DatabaseError as exc:
        fail(f"payments {_database_trouble(exc)}")
    finally:
        system.close()
    for line in report.attempts:
        typer.echo(f"{line.kind} {line.id} ({line.subject}, {line.amount.format()}) unfinished "
                   f"{line.age_seconds:.0f} s -> {line.outcome}")
    if dry_run:
        typer.echo(f"{len(report.attempts)} unfinished to reconcile (dry run: nothing changed)")
    else:
        typer.echo(f"reconciled {report.finished} of {len(report.attempts)} unfinished; "
                   f"{len(report.attempts) - report.finished} left for the next run")


@app.command("payments-status")
def payments_status():
    """Unfinished charges and refunds with their age, how many were reconciled, and mockbank charges with
    no payment record (must be 0; exits 1 otherwise). Example: flightbook payments-status"""
    system = _module_system("payments")
    try:
        status = wiring.payments_admin(system).payments_status()
    except peewee.DatabaseError as exc:
        fail(f"payments {_database_trouble(exc)}")
    finally:
        system.close()
    for row in status.unfinished:
        lease = "lease lapsed" if row.lease_lapsed else "still at the provider"
        typer.echo(f"unfinished {row.kind} {row.id} ({row.subject}, {row.amount.format()}): "
                   f"{row.age_seconds:.0f} s old, {lease}")
    typer.echo(f"unfinished: {sum(r.kind == 'charge' for r in status.unfinished)} charges, "
               f"{sum(r.kind == 'refund' for r in status.unfinished)} refunds; reconciled: "
               f"{status.reconciled_charges} charges, {status.reconciled_refunds} refunds; "
               f"mockbank charges with no payment record: {status.bank_charges_without_payment}")
    if status.bank_charges_without_payment:
        fail(f"{status.bank_charges_without_payment} mockbank charges have no payment record: "
             "run flightbook reconcile-payments")


@app.command("expire-holds")
def expire_holds():
    """Release seat holds past their expiry (a serving process also sweeps them in the background).
    Example: flightbook expire-holds"""
    system = _module_system("flights")
    try:
        released = wiring.flights_admin(system).expire_holds()
    except peewee.DatabaseError as exc:
        fail(f"flights {_database_trouble(exc)}")
    finally:
        system.close()
    typer.echo(f"released {released} expired seat hold{'' if released == 1 else 's'}")


@app.command()
def relay(
    once: bool = typer.Option(False, "--once", help="deliver what is due now, then exit"),
    max_attempts: int = typer.Option(10, min=1, max=1000, help="attempts before a delivery is parked as dead"),
    interval: float = typer.Option(1.0, min=0.05, max=3600, help="seconds between rounds"),
):
    """Deliver each local module's outbox to its subscribers (`serve` also does it in the background).
    Example: flightbook relay --once"""
    system = _system()
    try:
        wiring.migrate(system)
        relays = wiring.build_relays(system, RelayPolicy(max_attempts=max_attempts, interval_seconds=interval))
        if not relays:
            fail("no module with a database runs here (every FLIGHTBOOK_<M>_URL is set)")
        while True:
            for name, module_relay in relays.items():
                result = module_relay.drain()
                if once or result.touched:
                    typer.echo(f"{name}: {result.fanned_out} new events, {result.delivered} delivered, "
                               f"{result.retried} to retry, {result.dead} dead")
            if once:
                break
            time.sleep(interval)
    except ValueError as exc:
        fail(str(exc))
    except peewee.DatabaseError as exc:
        fail(_database_trouble(exc))
    except KeyboardInterrupt:
        pass
    finally:
        system.close()


@app.command()
def events(retry: str = typer.Option(None, "--retry", metavar="EVENT_ID",
                                     help="re-queue the dead deliveries of this event")):
    """Backlog, oldest pending event and dead letters of each local module's outbox.
    Example: flightbook events  |  flightbook events --retry 0b7e4c1a-5d2f-4e8b-9a41-3f7c2d9e8b10"""
    if retry is not None and not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                                              retry.strip().lower()):
        fail(f"--retry takes an event id (a UUID as `flightbook events` lists it), got {retry!r}")
    system = _system()
    try:
        wiring.migrate(system)
        if retry is not None:
            event_id = retry.strip().lower()
            count = sum(outbox.retry_dead_letter(database, event_id) for database in system.databases.values())
            if not count:
                fail(f"no dead letter with event id {event_id}")
            typer.echo(f"re-queued {count} dead deliver{'y' if count == 1 else 'ies'} of event {event_id}")
            return
        for name, database in system.databases.items():
            report = outbox.report(database)
            oldest = report.oldest_pending
            since = (f"oldest pending {oldest.event_id} {oldest.topic} since {clock.iso(oldest.created_at)}"
                     if oldest else "nothing pending")
            typer.echo(f"{name}: backlog {report.backlog}, {since}, {len(report.dead_letters)} dead")
            for dead in report.dead_letters:
                typer.echo(f"  dead {dead.event_id} {dead.topic} -> {dead.subscriber} after {dead.attempts} "
                           f"attempts: {dead.last_error}")
    except peewee.DatabaseError as exc:
        fail(_database_trouble(exc))
    finally:
        system.close()


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app()


if __name__ == "__main__":
    sys.exit(main())
