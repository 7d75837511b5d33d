"""Clinic administration commands for the `aftercare` entry point (registered by bot.cli.main).

    aftercare db upgrade
    aftercare practitioner add --name "Dr A" --chat-id 123456 --role treating
    aftercare practitioner list
    aftercare practitioner update 1 [--chat-id 123456] [--role on_call] [--active no]
    aftercare patient add --name "Jane D" --treated-at 2026-11-24T14:30 --area face --method microneedling \
                          --practitioner 1
    aftercare patient add --name "Jo N"        (not treated yet: book with `appointment add`)
    aftercare patient link PATIENT_ID [--unlink-now]  (a new link code; older unused codes stop working)
    aftercare patient erase PATIENT_ID [--yes] (without --yes: only list what would be erased)
    aftercare appointment add PATIENT_ID --at 2026-12-03T10:00 --area face --method microneedling --practitioner 1
    aftercare escalations [--json]
    aftercare export PATIENT_ID                (with the conversation; written to the audit trail)
    aftercare purge [--dry-run]                (erase patients inactive longer than DATA_RETENTION_DAYS; cron)
    aftercare console-user add USERNAME --role {admin,clinician,desk} [--practitioner ID] [--password-stdin]
    aftercare console-user password USERNAME [--password-stdin]   (a new password; its sessions end)
    aftercare console-user disable|enable USERNAME   (someone who left: signed out at once and kept out)
    aftercare console-user list                (the web console's accounts; passwords are asked, never arguments)

Every command applies pending migrations first. Bad input gives a one-line error and exit code 2, never a
traceback. Ids are plain digits (bot.ids): "²", "1.5", "-3" or a number beyond the database's integer are refused.
An erasure or purge that could not reach the conversation store (Rasa's tracker) says so and exits with 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import sys
from typing import Callable, List, Optional

from sqlalchemy.exc import OperationalError

from bot.bootstrap import conversation_store, session_factory
from bot.ids import BadId, parse_id
from bot.links import deep_link
from bot.settings import ConfigError, Settings
from bot.store import db
from bot.store.conversations import ConversationStore, ConversationStoreUnavailable
from bot.store.errors import InvalidValue, StoreError
from bot.store.models import AREAS, CONSOLE_ROLES, METHODS, ROLES
from bot.store.uow import UnitOfWork
from bot.usecases import appointments, console_accounts, enrolment, escalations, records, retention

EXIT_OK = 0
EXIT_DB_UNAVAILABLE = 1
EXIT_BAD_INPUT = 2

Handler = Callable[[argparse.Namespace, Settings], int]


def register(subparsers: "argparse._SubParsersAction") -> None:
    """Add the admin sub-commands to the `aftercare` parser."""
    database = subparsers.add_parser("db", help="database maintenance")
    database_commands = database.add_subparsers(dest="db_command", metavar="{upgrade}", required=True)
    _command(database_commands, "upgrade", "apply all migrations (also done by every command)", cmd_db_upgrade)

    practitioner = subparsers.add_parser("practitioner", help="practitioners who receive alerts")
    practitioner_commands = practitioner.add_subparsers(
        dest="practitioner_command", metavar="{add,list,update}", required=True
    )
    add = _command(practitioner_commands, "add", "add a practitioner", cmd_practitioner_add)
    add.add_argument("--name", required=True)
    add.add_argument(
        "--chat-id", type=_chat_id, default=None, help="their Telegram chat id (they can add it later); alerts need it"
    )
    add.add_argument("--role", choices=ROLES, default="treating")
    _command(practitioner_commands, "list", "list practitioners", cmd_practitioner_list)
    update = _command(
        practitioner_commands, "update", "change a practitioner's chat id, role or status", cmd_practitioner_update
    )
    update.add_argument("practitioner_id", type=_record_id)
    update.add_argument("--chat-id", type=_chat_id, default=None)
    update.add_argument("--role", choices=ROLES, default=None)
    update.add_argument("--active", choices=("yes", "no"), default=None)

    patient = subparsers.add_parser("patient", help="patients and their treatments")
    patient_commands = patient.add_subparsers(dest="patient_command", metavar="{add,link,erase}", required=True)
    add = _command(
        patient_commands,
        "add",
        "register a patient (treated, or before a first appointment) and print their link",
        cmd_patient_add,
    )
    add.add_argument("--name", required=True, help="name as staff will see it in alerts")
    add.add_argument(
        "--treated-at",
        type=_parse_time,
        default=None,
        help="when the treatment was done, ISO 8601 (e.g. 2026-11-24T14:30); without an offset "
        "it is read as this computer's local time. Leave out for a patient not treated yet "
        "(then book with `aftercare appointment add`)",
    )
    add.add_argument("--area", choices=AREAS, help="with --treated-at")
    add.add_argument("--method", choices=METHODS, help="with --treated-at")
    add.add_argument("--practitioner", type=_record_id, help="id of the treating practitioner (with --treated-at)")
    add.add_argument("--batch", default=None, help="product batch number")
    add.add_argument("--phone", default=None)
    link = _command(
        patient_commands, "link", "issue a new link code (the old one expired or was lost)", cmd_patient_link
    )
    link.add_argument("patient_id", type=_record_id)
    link.add_argument(
        "--unlink-now",
        action="store_true",
        help="also unlink the patient's current chat at once (a lost or stolen phone), instead of when "
        "the new code is used",
    )
    erase = _command(
        patient_commands,
        "erase",
        "erase a patient everywhere: records, messages, photos' file ids "
        "and conversation (the audit trail keeps a tombstone without health data)",
        cmd_patient_erase,
    )
    erase.add_argument("patient_id", type=_record_id)
    erase.add_argument("--yes", action="store_true", help="really erase; without it, only list what would be erased")

    appointment = subparsers.add_parser("appointment", help="planned treatments (preparation and screening)")
    appointment_commands = appointment.add_subparsers(dest="appointment_command", metavar="{add}", required=True)
    add = _command(
        appointment_commands,
        "add",
        "book a treatment; the patient gets the preparation guidance and screening questions before it",
        cmd_appointment_add,
    )
    add.add_argument("patient_id", type=_record_id)
    add.add_argument(
        "--at",
        required=True,
        type=_parse_time,
        help="when the appointment is, ISO 8601 (e.g. 2026-12-03T10:00); without an offset it is "
        "read as this computer's local time",
    )
    add.add_argument("--area", required=True, choices=AREAS)
    add.add_argument("--method", required=True, choices=METHODS)
    add.add_argument("--practitioner", required=True, type=_record_id, help="id of the practitioner who will treat")

    escalations = _command(subparsers, "escalations", "list escalations not resolved yet", cmd_escalations)
    escalations.add_argument("--json", action="store_true", help="machine-readable output")

    export = _command(subparsers, "export", "print everything on record about a patient as JSON", cmd_export)
    export.add_argument("patient_id", type=_record_id)

    purge = _command(
        subparsers,
        "purge",
        "erase every patient inactive for longer than DATA_RETENTION_DAYS "
        "(for cron; the Telegram gateway also does it daily)",
        cmd_purge,
    )
    purge.add_argument("--dry-run", action="store_true", help="only list who would be erased")

    console_user = subparsers.add_parser("console-user", help="accounts of the clinic's web console")
    console_commands = console_user.add_subparsers(
        dest="console_user_command", metavar="{add,password,disable,enable,list}", required=True
    )
    add_user = _command(console_commands, "add", "add a web console account", cmd_console_user_add)
    add_user.add_argument("username")
    add_user.add_argument(
        "--role",
        choices=CONSOLE_ROLES,
        required=True,
        help="admin: everything; clinician: queue, patients, registering, booking; desk: registering and booking",
    )
    add_user.add_argument(
        "--practitioner", type=_record_id, default=None, help="the practitioner this account acknowledges as"
    )
    add_user.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of standard input"
    )
    password = _command(
        console_commands, "password", "set a new password (signs the account out)", cmd_console_user_password
    )
    password.add_argument("username")
    password.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of standard input"
    )
    disable = _command(console_commands, "disable", "sign an account out and keep it out", cmd_console_user_disable)
    disable.add_argument("username")
    enable = _command(console_commands, "enable", "let a disabled account sign in again", cmd_console_user_enable)
    enable.add_argument("username")
    _command(console_commands, "list", "list the web console's accounts", cmd_console_user_list)


def _command(
    subparsers: "argparse._SubParsersAction", name: str, help_text: str, handler: Handler
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(func=lambda args: run(handler, args))
    return parser


def run(handler: Handler, args: argparse.Namespace, settings: Optional[Settings] = None) -> int:
    """Apply migrations, run one command, and turn expected problems into a message and an exit code."""
    try:
        settings = settings or Settings.from_env()
        db.upgrade(settings.database_url)
        return handler(args, settings)
    except (StoreError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OperationalError as error:
        print(f"error: cannot use the database ({error.orig}). Check DATABASE_URL.", file=sys.stderr)
        return EXIT_DB_UNAVAILABLE


def _record_id(value: str) -> int:
    try:
        return parse_id(value)
    except BadId as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _chat_id(value: str) -> int:
    """A Telegram chat id: ASCII digits, a minus sign allowed (group ids), within a 64-bit integer."""
    text = value.strip()
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        raise argparse.ArgumentTypeError(f"{value!r} is not a Telegram chat id (digits 0-9, e.g. 123456789)")
    return int(text)


def _actor() -> str:
    """Who runs this command, for the audit trail: "cli:<login name>"."""
    try:
        return f"cli:{getpass.getuser()}"[:80]
    except Exception:  # no login name (some containers): still on record as the command line
        return "cli"


def _parse_time(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO date-time like 2026-11-24T14:30") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # this computer's local time zone
    return moment.astimezone(dt.timezone.utc)


# Handlers ---------------------------------------------------------------------------------------------------------
def _uow(settings: Settings) -> UnitOfWork:
    """A unit of work over the clinic database, for one use case."""
    return UnitOfWork(session_factory(settings))


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    print(f"database is at revision {db.current_revision(settings.database_url)}")
    return EXIT_OK


def cmd_practitioner_add(args: argparse.Namespace, settings: Settings) -> int:
    practitioner = enrolment.add_practitioner(_uow(settings), args.name, args.role, args.chat_id, actor="cli")
    print(f"practitioner {practitioner.id} added ({practitioner.role})")
    if practitioner.telegram_chat_id is None:
        print("note: no Telegram chat id yet, so this practitioner cannot receive alerts")
    return EXIT_OK


def cmd_practitioner_list(args: argparse.Namespace, settings: Settings) -> int:
    practitioners = enrolment.list_practitioners(_uow(settings))
    if not practitioners:
        print("no practitioners yet: add one with `aftercare practitioner add`")
        return EXIT_OK
    print(f"{'id':>4}  {'role':<9} {'active':<6} {'chat id':>14}  name")
    for p in practitioners:
        chat = str(p.telegram_chat_id) if p.telegram_chat_id is not None else "-"
        print(f"{p.id:>4}  {p.role:<9} {'yes' if p.active else 'no':<6} {chat:>14}  {p.name}")
    return EXIT_OK


def cmd_practitioner_update(args: argparse.Namespace, settings: Settings) -> int:
    active = None if args.active is None else args.active == "yes"
    practitioner = enrolment.update_practitioner(
        _uow(settings), args.practitioner_id, args.chat_id, args.role, active, actor="cli"
    )
    print(
        f"practitioner {practitioner.id}: role {practitioner.role}, "
        f"{'active' if practitioner.active else 'inactive'}, chat id {practitioner.telegram_chat_id or '-'}"
    )
    return EXIT_OK


def cmd_patient_link(args: argparse.Namespace, settings: Settings) -> int:
    code, unlinked = enrolment.issue_link_code(
        _uow(settings),
        args.patient_id,
        dt.timedelta(hours=settings.link_code_ttl_hours),
        actor=_actor(),
        unlink_now=args.unlink_now,
    )
    _print_link(settings, code.code, code.expires_at)
    if args.unlink_now:
        print(f"{unlinked} chat(s) unlinked now; older unused link codes of this patient no longer work")
    else:
        print(
            "older unused link codes of this patient no longer work; once this one is used, any chat linked before "
            "is unlinked (--unlink-now does it at once)"
        )
    return EXIT_OK


def _print_link(settings: Settings, code: str, expires_at: dt.datetime) -> None:
    print(f"link code: {code} (one use, expires {expires_at:%Y-%m-%d %H:%M} UTC)")
    print(f"telegram link: {deep_link(settings.telegram_bot_username, code)}")


def cmd_patient_add(args: argparse.Namespace, settings: Settings) -> int:
    treatment_args = {"--area": args.area, "--method": args.method, "--practitioner": args.practitioner}
    if args.treated_at is None:
        given = [name for name, value in treatment_args.items() if value is not None]
        if given or args.batch:
            raise InvalidValue(f"{', '.join(given) or '--batch'} describe a treatment: add --treated-at too.")
        return _add_untreated_patient(args, settings)
    missing = [name for name, value in treatment_args.items() if value is None]
    if missing:
        raise InvalidValue(f"With --treated-at, also give {', '.join(missing)}.")
    new = enrolment.add_patient_with_treatment(
        _uow(settings),
        args.name,
        args.treated_at,
        args.area,
        args.method,
        args.practitioner,
        product_batch=args.batch,
        phone=args.phone,
        actor="cli",
        **enrolment.clinic_registration(settings),
    )
    print(f"patient id: {new.patient.id}")
    print(f"treatment id: {new.treatment.id}")
    _print_link(settings, new.link_code, new.link_expires_at)
    return EXIT_OK


def cmd_appointment_add(args: argparse.Namespace, settings: Settings) -> int:
    appointment = appointments.add_appointment(
        _uow(settings),
        args.patient_id,
        args.at,
        args.area,
        args.method,
        args.practitioner,
        preparation_lead=appointments.clinic_preparation_lead(settings),
        actor="cli",
    )
    print(f"appointment id: {appointment.id} ({appointment.scheduled_at:%Y-%m-%d %H:%M} UTC)")
    print(
        f"preparation guidance and screening questions go out {settings.preparation_lead_days} day(s) before "
        "(at once if sooner), once the patient's chat is linked"
    )
    return EXIT_OK


def _add_untreated_patient(args: argparse.Namespace, settings: Settings) -> int:
    patient, code = enrolment.add_patient_with_link(
        _uow(settings), args.name, args.phone, dt.timedelta(hours=settings.link_code_ttl_hours), actor="cli"
    )
    print(f"patient id: {patient.id}")
    print(f"no treatment on record yet: book one with `aftercare appointment add {patient.id} --at ...`")
    _print_link(settings, code.code, code.expires_at)
    return EXIT_OK


def cmd_escalations(args: argparse.Namespace, settings: Settings) -> int:
    summaries = escalations.open_queue(_uow(settings))
    if args.json:
        print(json.dumps(summaries, indent=2))
        return EXIT_OK
    if not summaries:
        print("no open escalations")
        return EXIT_OK
    for s in summaries:
        print(
            f"#{s['id']:<4} {s['level']:<9} {s['state']:<12} {s['created_at'][:16]}  "
            f"patient {s['patient_id']} ({s['patient']})  {', '.join(s['criteria'])}"
        )
    return EXIT_OK


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    data = records.export_patient(_uow(settings), args.patient_id, actor=_actor())
    conversations = conversation_store(settings)
    try:
        data["conversation"] = {"available": True, "messages": conversations.messages(args.patient_id)}
    except ConversationStoreUnavailable as error:
        data["conversation"] = {
            "available": False,
            "reason": f"{error}; the messages are not in this export",
            "messages": [],
        }
        print(f"warning: {error}: the export has no conversation", file=sys.stderr)
    print(json.dumps(data, indent=2, ensure_ascii=False))
    return EXIT_OK


def cmd_patient_erase(args: argparse.Namespace, settings: Settings) -> int:
    factory = session_factory(settings)
    conversations = conversation_store(settings)
    if not args.yes:
        try:
            plan = retention.preview(factory, conversations, args.patient_id)
        except StoreError:
            if not records.was_erased(UnitOfWork(factory), args.patient_id):
                raise
            print(
                f"patient {args.patient_id}'s records were erased before; --yes erases what is left of the conversation"
            )
            return EXIT_OK
        print(f"dry run: erasing patient {args.patient_id} would remove")
        for table, count in plan["rows"].items():
            if count:
                print(f"  {count:>5}  {table}")
        print(f"  {plan['conversation_events']!s:>5}  conversation events ({conversations.where})")
        print("run again with --yes to erase (it cannot be undone; the audit trail keeps only a tombstone)")
        return EXIT_OK
    result = retention.erase(factory, conversations, args.patient_id, _actor())
    _print_erasure(result, conversations)
    return EXIT_OK if result.complete else EXIT_DB_UNAVAILABLE


def _print_erasure(result: "retention.Erasure", conversations: ConversationStore) -> None:
    if result.already_erased:
        print(f"patient {result.patient_id}: records had been erased before")
    else:
        removed = ", ".join(f"{count} {table}" for table, count in result.rows.items() if count)
        print(f"patient {result.patient_id} erased: {removed}")
    if result.complete:
        print(
            f"patient {result.patient_id}: conversation erased ({result.conversation_events} events, "
            f"{conversations.where})"
        )
    else:
        print(
            f"error: patient {result.patient_id}'s conversation was NOT erased: {result.conversation_error}. "
            f"Run `aftercare patient erase {result.patient_id} --yes` again once it is reachable.",
            file=sys.stderr,
        )


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    days = settings.data_retention_days
    if days <= 0:
        print("DATA_RETENTION_DAYS is 0 (keep everything): nothing to purge")
        return EXIT_OK
    factory = session_factory(settings)
    conversations = conversation_store(settings)
    result = retention.purge(factory, conversations, days, actor=_actor(), dry_run=args.dry_run)
    if result.error is not None:
        print(f"error: purge not done: {result.error}", file=sys.stderr)
        return EXIT_DB_UNAVAILABLE
    cutoff = f"{result.cutoff:%Y-%m-%d %H:%M} UTC"
    if not result.erased:
        print(f"no patient inactive since before {cutoff} ({days} days)")
        return EXIT_OK
    if args.dry_run:
        print(
            f"dry run: {len(result.erased)} patient(s) inactive since before {cutoff} would be erased: "
            + ", ".join(str(e.patient_id) for e in result.erased)
        )
        return EXIT_OK
    for erasure in result.erased:
        _print_erasure(erasure, conversations)
    return EXIT_OK if result.complete else EXIT_DB_UNAVAILABLE


def _read_password(args: argparse.Namespace) -> str:
    """The new password: the first line of standard input (--password-stdin), or typed twice without echo."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    try:
        first = getpass.getpass("Password (at least 12 characters): ")
        console_accounts.check_password(first)
        again = getpass.getpass("Password again: ")
    except EOFError:
        raise InvalidValue("No password given: type it when asked, or pipe it in with --password-stdin.") from None
    if again != first:
        raise InvalidValue("The two passwords differ.")
    return first


def cmd_console_user_add(args: argparse.Namespace, settings: Settings) -> int:
    password = _read_password(args)
    account = console_accounts.add_account(
        _uow(settings), args.username, password, args.role, args.practitioner, actor=_actor()
    )
    linked = f", acts as practitioner {account.practitioner_id}" if account.practitioner_id is not None else ""
    print(f"console account {account.username} added ({account.role}{linked})")
    print(f"sign in at http://{settings.console_host}:{settings.console_port}/")
    return EXIT_OK


def cmd_console_user_password(args: argparse.Namespace, settings: Settings) -> int:
    password = _read_password(args)
    account = console_accounts.set_password(_uow(settings), args.username, password, actor=_actor())
    print(f"password of {account.username} changed; its sessions have ended")
    return EXIT_OK


def cmd_console_user_disable(args: argparse.Namespace, settings: Settings) -> int:
    account = console_accounts.set_active(_uow(settings), args.username, False, actor=_actor())
    print(f"console account {account.username} disabled; its sessions have ended")
    return EXIT_OK


def cmd_console_user_enable(args: argparse.Namespace, settings: Settings) -> int:
    account = console_accounts.set_active(_uow(settings), args.username, True, actor=_actor())
    print(f"console account {account.username} enabled")
    return EXIT_OK


def cmd_console_user_list(args: argparse.Namespace, settings: Settings) -> int:
    accounts = console_accounts.list_accounts(_uow(settings))
    if not accounts:
        print("no console accounts yet: add one with `aftercare console-user add NAME --role admin`")
        return EXIT_OK
    print(f"{'id':>4}  {'role':<9} {'active':<6} {'practitioner':>12}  username")
    for a in accounts:
        practitioner = str(a.practitioner_id) if a.practitioner_id is not None else "-"
        print(f"{a.id:>4}  {a.role:<9} {'yes' if a.active else 'no':<6} {practitioner:>12}  {a.username}")
    return EXIT_OK


def main(argv: Optional[List[str]] = None) -> int:
    """Run the admin commands on their own (bot.cli.main is the usual entry point)."""
    parser = argparse.ArgumentParser(prog="aftercare")
    register(parser.add_subparsers(dest="command", required=True))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return args.func(args)
