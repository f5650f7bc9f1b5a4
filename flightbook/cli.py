"""The flightbook command: a thin shell over the parts' use cases, reached through the wiring and the modules'
contracts and admin interfaces (never a module's insides). The top-level ``cli.py`` is its entry point."""
from __future__ import annotations

import datetime as dt
import logging
import re
import signal
import sys
import threading
import time
from typing import NoReturn

import peewee
import typer
from rich.progress import Progress, TaskID

from flightbook import MODULES, ROOT, wiring
from flightbook.contracts.flights import Registration
from flightbook.kernel import clock, observability, outbox, tracing
from flightbook.kernel.broker import BrokerUnavailable, connect as connect_broker, redacted
from flightbook.kernel.errors import Conflict, DomainError
from flightbook.kernel.part import Doorbell, JobRunner
from flightbook.kernel.relay import RelayPolicy
from flightbook.kernel.server import GunicornServer
from flightbook.kernel.settings import Settings, SettingsError

app = typer.Typer(help="flightbook: flights, payments and loyalty — one process or four services.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, non-zero exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        fail(str(exc))


def _system(serve: str | None = None) -> wiring.System:
    try:
        return wiring.build_system(_settings(), serve=serve)
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
    module is served; with FLIGHTBOOK_BROKER_URL, declare every module's queues too. Example: flightbook migrate"""
    for module in MODULES:
        system = _system(module)
        try:
            applied = wiring.migrate(system, module)[module]
        except peewee.DatabaseError as exc:
            fail(f"{module} {_database_trouble(exc)}")
        finally:
            system.close()
        typer.echo(f"{module}: {', '.join(applied) if applied else 'up to date'}")
    settings = _settings()
    if settings.broker_url:
        try:
            queues = wiring.declare_broker_queues(settings)
        except BrokerUnavailable as exc:
            fail(str(exc))
        typer.echo(f"broker: {', '.join(queues)} declared with their bindings")


@app.command()
def serve(
    part: str | None = typer.Argument(None, help="gateway, flights, payments or loyalty; none = everything"),
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(None, help="port (default 8000 for the gateway or everything, 8001-8003 per module)"),
    workers: int = typer.Option(2, min=1, max=64, help="gunicorn worker processes serving requests"),
    threads: int = typer.Option(4, min=1, max=64,
                                help="threads per worker: a part waiting on another part keeps serving"),
    background: bool = typer.Option(True, help="run the hold sweeper, the event relay, mail and (with a broker) "
                                               "the event consumers, in one more worker that serves no requests"),
):
    """Serve under gunicorn. Example: flightbook serve  |  flightbook serve payments --port 8002"""
    if part is not None and part not in wiring.PARTS:
        fail(f"unknown part {part!r}: choose one of {', '.join(wiring.PARTS)}")
    default_ports = {None: 8000, "gateway": 8000, "flights": 8001, "payments": 8002, "loyalty": 8003}
    port = port or default_ports[part]
    system = _system(part)
    observability.configure_logging(system.settings.log_format, system.settings.log_level)
    observability.prepare_multiprocess(system.settings.home, f"{part or 'all'}-{port}")
    try:
        if part is None:
            wiring.migrate(system)
            _declare_queues_or_warn(system.settings)
    except peewee.DatabaseError as exc:
        fail(_database_trouble(exc))
    finally:
        system.close()
    state: dict = {}
    doorbell = Doorbell() if background else None  # made before the fork: every worker holds it

    def factory():
        tracing.configure(part or "all")  # in the worker: an exporter's thread does not survive a fork
        state["system"] = wiring.build_system(Settings.from_env(), serve=part)
        return wiring.create_app(state["system"], doorbell)

    def start_background():  # in the jobs worker only (kernel/server.py)
        system = state["system"]
        state["runner"] = runner = JobRunner(system.jobs(), system.loops(), doorbell)
        runner.start()

    def stop_background():
        if "runner" in state:
            state["runner"].stop()  # a consumer finishes the message in hand; the rest go back to the queue
        tracing.shutdown()  # the spans still batched go out

    typer.echo(f"flightbook {part or 'all parts'} on http://{host}:{port}")
    GunicornServer(factory, {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "preload_app": False,
                             "timeout": 60, "graceful_timeout": 10,  # flightbook logs each request itself
                             "child_exit": lambda server, worker: observability.worker_exited(worker.pid)},
                   on_worker_start=start_background if background else None, on_worker_exit=stop_background).run()


def _declare_queues_or_warn(settings: Settings) -> None:
    """Everything in one process declares every queue before its workers publish, as it migrates; a broker
    that is down only delays the events (they wait in the outboxes), so serving goes on."""
    if not settings.broker_url:
        return
    try:
        wiring.declare_broker_queues(settings)
    except BrokerUnavailable as exc:
        typer.echo(f"warning: {exc}; events wait in the outboxes until it answers", err=True)


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


@app.command("revoke-sessions")
def revoke_sessions(username: str = typer.Argument(..., help="the user whose sessions end")):
    """End every login session of a user: their refresh tokens stop at once, their web sessions within seconds
    and their access tokens at their short expiry. Example: flightbook revoke-sessions alice"""
    system = _module_system("flights")
    try:
        ended = wiring.flights_admin(system).revoke_sessions(username)
    except DomainError as exc:
        fail(exc.message)
    finally:
        system.close()
    typer.echo(f"{ended} session(s) of {username} ended")


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


def load_cities(admin, csv_path, aliases_path) -> str:
    result = admin.import_cities(csv_path, aliases_path)
    return (f"cities: {result.cities} metropolitan areas, {result.skipped} skipped (fewer than two known airports), "
            f"{result.aliases} local names")


def load_connection_times(admin, csv_path) -> str:
    result = admin.import_connection_times(csv_path)
    return (f"connection times: {result.read} airports read, {result.added} added, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.removed} removed (back to the defaults)")


def load_flights(admin, schedule, start: dt.date, days: int, fare_rules=None) -> str:
    with _Progress("flights") as progress:
        result = admin.import_flights(schedule, start, days, progress=progress, fare_rules=fare_rules)
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


@app.command("import-cities")
def import_cities(csv_path: str = typer.Argument(None, metavar="[CSV]", help="default data/cities.csv"),
                  aliases: str = typer.Option(None, "--aliases", help="local names (default data/city_aliases.csv)")):
    """Replace the metropolitan areas (code, name, country, airports) searched as one place, and the local names
    places are also found by, with the files', all or nothing. Example: flightbook import-cities"""
    system = _module_system("flights")
    try:
        typer.echo(load_cities(wiring.flights_admin(system), csv_path, aliases))
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
    fare_rules: str = typer.Option(None, help="fare rules TOML (buckets, time of day); default data/fare_rules.toml"),
):
    """Expand a weekly schedule into dated flights with seat inventory; re-importing changes nothing.
    Example: flightbook import-flights data/schedule.csv --start 2026-12-01 --days 30"""
    try:
        first = dt.date.fromisoformat(start)
    except ValueError:
        fail(f"--start is not a date YYYY-MM-DD: {start!r}")
    system = _module_system("flights")
    try:
        typer.echo(load_flights(wiring.flights_admin(system), schedule, first, days, fare_rules))
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
        typer.echo(load_cities(admin, None, None))
        typer.echo(load_connection_times(admin, None))
        typer.echo(load_flights(admin, ROOT / "data" / "schedule.csv", dt.date.today(), days))
        try:
            admin.register(Registration(username=DEMO_USERNAME, email="demo@example.com", password=DEMO_PASSWORD,
                                        first_name="Demo", last_name="Traveller"))
        except Conflict:
            pass
        mail = admin.mail_destination()
    except DomainError as exc:
        fail(exc.message)
    finally:
        system.close()
    typer.echo(f"demo traveller: username {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r}")
    typer.echo(f"travellers' e-mails: {mail}" + ("" if system.settings.smtp_url else
                                                 " (set FLIGHTBOOK_SMTP_URL to send them through a mail server)"))
    if not prepare_only:
        serve(part=None, host=host, port=port, workers=workers, threads=4, background=True)


@app.command("reschedule-flight")
def reschedule_flight(
    flight_id: int = typer.Argument(..., help="the dated flight's id (as search results and bookings give it)"),
    departs: str = typer.Option(None, "--departs", metavar="YYYY-MM-DDTHH:MM",
                                help="the new departure, in the origin airport's local time"),
    delay: int = typer.Option(None, "--delay", metavar="MINUTES", help="move the departure by this many minutes "
                                                                        "(negative: earlier)"),
):
    """Move a dated flight (arrival too); its bookings keep their seats and each confirmed booking's traveller gets
    an e-mail with the new times. Example: flightbook reschedule-flight 90001 --delay 45"""
    if (departs is None) == (delay is None):
        fail("give the new local departure (--departs YYYY-MM-DDTHH:MM) or --delay MINUTES, one of the two")
    try:
        departs_local = dt.datetime.strptime(departs.strip(), "%Y-%m-%dT%H:%M") if departs is not None else None
    except ValueError:
        fail(f"--departs must be a local date and time YYYY-MM-DDTHH:MM, got {departs!r}")
    system = _module_system("flights")
    try:
        moved = wiring.flights_admin(system).reschedule_flight(flight_id, departs_local, delay_minutes=delay)
    except DomainError as exc:
        fail(exc.message)
    except peewee.DatabaseError as exc:
        fail(f"flights {_database_trouble(exc)}")
    finally:
        system.close()
    if not moved.moved:
        typer.echo(f"flight {moved.flight_number} ({moved.flight_id}) already departs {moved.departs_local}: "
                   "nothing changed")
        return
    told = moved.bookings_told
    typer.echo(f"flight {moved.flight_number} ({moved.flight_id}) {moved.origin}-{moved.destination} moved from "
               f"{moved.was_departs_local} to depart {moved.departs_local}, arrive {moved.arrives_local}; "
               f"{told} confirmed booking{'' if told == 1 else 's'} to tell: their e-mails go out once the event is "
               "delivered (serve's relay, or flightbook relay --once)")


@app.command("send-mail")
def send_mail(now: bool = typer.Option(False, "--now", help="try every unsent message now, not waiting out its "
                                                              "pause after a failure")):
    """Send the travellers' e-mails that are due (after the mail server was away, say); serve does it in the
    background every FLIGHTBOOK_MAIL_INTERVAL_SECONDS. Example: flightbook send-mail --now"""
    system = _module_system("flights")
    try:
        report = wiring.flights_admin(system).send_mail(ignore_backoff=now)
    except peewee.DatabaseError as exc:
        fail(f"flights {_database_trouble(exc)}")
    finally:
        system.close()
    typer.echo(f"mail to {report.destination}: {report.sent} sent, {report.retrying} to try again, "
               f"{report.failed} failed for good; {report.pending} waiting for their next try, "
               f"{report.waiting} waiting for a refund's or the points' figures")


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


EVENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@app.command()
def events(
    retry: str = typer.Option(None, "--retry", metavar="EVENT_ID",
                              help="re-queue the dead deliveries of this event (outboxes and broker)"),
    retry_all: bool = typer.Option(False, "--retry-all", help="re-queue every dead delivery (outboxes and broker)"),
):
    """Backlog, oldest pending event and dead letters of each local module's outbox, and with a broker the dead
    letters of every module's queue. Example: flightbook events  |  flightbook events --retry
    0b7e4c1a-5d2f-4e8b-9a41-3f7c2d9e8b10  |  flightbook events --retry-all"""
    if retry is not None and retry_all:
        fail("give --retry EVENT_ID or --retry-all, not both")
    if retry is not None and not EVENT_ID.fullmatch(retry.strip().lower()):
        fail(f"--retry takes an event id (a UUID as `flightbook events` lists it), got {retry!r}")
    system = _system()
    try:
        wiring.migrate(system)
        if retry is not None or retry_all:
            _retry_dead(system, retry.strip().lower() if retry is not None else None)
        else:
            _list_events(system)
    except peewee.DatabaseError as exc:
        fail(_database_trouble(exc))
    except BrokerUnavailable as exc:
        fail(str(exc))
    finally:
        system.close()


def _retry_dead(system: wiring.System, event_id: str | None) -> None:
    """``event_id``'s dead deliveries, or all of them, back in their outboxes' and queues' line."""
    if event_id is None:
        count = sum(outbox.retry_all_dead_letters(database) for database in system.databases.values())
    else:
        count = sum(outbox.retry_dead_letter(database, event_id) for database in system.databases.values())
    if system.settings.broker_url:
        count += wiring.retry_broker_dead_letters(system.settings, event_id)
    if not count and event_id is not None:
        fail(f"no dead letter with event id {event_id}")
    plural = "y" if count == 1 else "ies"
    typer.echo(f"re-queued {count} dead deliver{plural}" + (f" of event {event_id}" if event_id else ""))


def _list_events(system: wiring.System) -> None:
    broker = bool(system.settings.broker_url)
    for name, database in system.databases.items():
        report = outbox.report(database)
        oldest = report.oldest_pending
        since = (f"oldest pending {oldest.event_id} {oldest.topic} since {clock.iso(oldest.created_at)}"
                 if oldest else "nothing pending")
        typer.echo(f"{name}: backlog {report.backlog}, {since}, {len(report.dead_letters)} dead")
        _echo_dead(report.dead_letters)
        _echo_stranded(outbox.pending_by_subscriber(database), broker)
    if broker:
        for name, letters in wiring.broker_dead_letters(system.settings).items():
            typer.echo(f"{name} on the broker ({wiring.topology(system.settings).queue(name)}): {len(letters)} dead")
            _echo_dead(letters)


def _echo_dead(letters) -> None:
    for dead in letters:
        typer.echo(f"  dead {dead.event_id} {dead.topic} -> {dead.subscriber} after {dead.attempts} "
                   f"attempts: {dead.last_error}")


def _echo_stranded(pending: dict[str, int], broker: bool) -> None:
    """Deliveries made for the other transport (fanned out before FLIGHTBOOK_BROKER_URL was set or unset):
    this setting's relay does not take them."""
    if broker:
        stranded = sum(n for subscriber, n in pending.items() if subscriber != "broker")
        how = "run `flightbook relay --once` without FLIGHTBOOK_BROKER_URL to deliver them"
    else:
        stranded = pending.get("broker", 0)
        how = "run `flightbook relay --once` with FLIGHTBOOK_BROKER_URL set to deliver them"
    if stranded:
        typer.echo(f"  {stranded} pending deliveries were fanned out for the other transport: {how}")


@app.command()
def consume(part: str | None = typer.Argument(None, help="flights, payments or loyalty; none = every local module")):
    """Apply the events of each module's queue on the broker until stopped (SIGTERM or Ctrl-C); `serve` also
    does it in the background. Needs FLIGHTBOOK_BROKER_URL. Example: flightbook consume loyalty"""
    if part is not None and part not in MODULES:
        fail(f"unknown module {part!r}: choose one of {', '.join(MODULES)}")
    settings = _settings()
    if not settings.broker_url:
        fail("FLIGHTBOOK_BROKER_URL is not set: without a broker, `flightbook relay` delivers the events")
    system = _module_system(part) if part else _system()
    try:
        if part is None:
            wiring.migrate(system)
        consumers = wiring.build_consumers(system)
        if not consumers:
            fail("no module that handles events runs here (every FLIGHTBOOK_<M>_URL is set)")
        connect_broker(settings.broker_url).close()
        _consume_until_stopped(consumers, settings)
    except peewee.DatabaseError as exc:
        fail(_database_trouble(exc))
    except BrokerUnavailable as exc:
        fail(str(exc))
    finally:
        system.close()


def _consume_until_stopped(consumers: dict, settings: Settings) -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threads = [threading.Thread(target=consumer.run, args=(stop,), name=f"consumer-{name}")
               for name, consumer in consumers.items()]
    for thread in threads:
        thread.start()
    typer.echo(f"consuming {', '.join(consumers)} from {redacted(settings.broker_url)} "
               f"(prefix {settings.broker_prefix}); SIGTERM or Ctrl-C stops")
    while not stop.wait(1):
        pass
    for thread in threads:
        thread.join()  # each finishes the message in hand
    for name, consumer in consumers.items():
        typer.echo(f"{name}: {consumer.applied} applied, {consumer.acked} acknowledged")


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app()


if __name__ == "__main__":
    sys.exit(main())
