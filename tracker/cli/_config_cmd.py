"""`trio-tracker config validate|show|defaults`."""

from __future__ import annotations

import argparse

from tracker.cli._common import CliParser, ExitCode
from tracker.cli._config_loading import load_config_for_cli, load_config_with_stats_for_cli
from tracker.config import render_defaults_template, render_yaml

_CONFIG_EXIT_CODES = """exit codes:
  0  the config is valid
  1  other error: --config missing, file missing, unreadable or a directory
  2  parse error: not YAML, unknown or duplicate key, wrong type, empty file
  3  validation error: every broken rule is listed, in rule order"""


def register(subcommands: argparse._SubParsersAction) -> None:
    config_parser: CliParser = subcommands.add_parser(
        "config",
        help="check, show or generate a tracker.yaml",
        description="Work with the tracker's YAML configuration file.",
    )
    actions = config_parser.add_subparsers(title="subcommands", metavar="SUBCOMMAND", parser_class=CliParser)
    config_parser.set_defaults(handler=lambda args: _print_help(config_parser))

    validate_parser = actions.add_parser(
        "validate",
        help="check a config file; exit 0 if it is valid",
        description=(
            "Parse, apply defaults and validate a config file.\n"
            "On success prints `OK: <path> (N sections, M fields)` on stdout, where N is the number of\n"
            "sections and M the number of fields that the file itself sets. On failure prints the problem\n"
            "on stderr: `parse error: …`, or `validation failed:` followed by one `  - field: message`\n"
            "line per broken rule."
        ),
        epilog=_CONFIG_EXIT_CODES,
    )
    validate_parser.add_argument("--config", metavar="PATH", help="the YAML config file (required)")
    validate_parser.set_defaults(handler=_validate)

    show_parser = actions.add_parser(
        "show",
        help="print the resolved config (defaults applied) as YAML",
        description=(
            "Load and validate a config file, then print it with every default filled in, as YAML that\n"
            "itself passes `config validate`."
        ),
        epilog=_CONFIG_EXIT_CODES.replace("the config is valid", "the resolved config was printed"),
    )
    show_parser.add_argument("--config", metavar="PATH", help="the YAML config file (required)")
    show_parser.set_defaults(handler=_show)

    defaults_parser = actions.add_parser(
        "defaults",
        help="print a commented template with every field and its default",
        description=(
            "Print a YAML template listing every field with its default value. Fields marked REQUIRED\n"
            "must be filled in; the result then passes `config validate`."
        ),
        epilog="exit codes:\n  0  the template was printed\n  1  other error (e.g. stdout closed)",
    )
    defaults_parser.set_defaults(handler=_defaults)


def _print_help(parser: CliParser) -> int:
    parser.print_help()
    return ExitCode.OK


def _validate(args: argparse.Namespace) -> int:
    _, stats = load_config_with_stats_for_cli(args.config)
    print(f"OK: {args.config} ({stats.sections} sections, {stats.fields} fields)")
    return ExitCode.OK


def _show(args: argparse.Namespace) -> int:
    config = load_config_for_cli(args.config)
    print(render_yaml(config), end="")
    return ExitCode.OK


def _defaults(args: argparse.Namespace) -> int:
    print(render_defaults_template(), end="")
    return ExitCode.OK
