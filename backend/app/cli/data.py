"""`stocklean data synth | import-csv | info`: build and inspect market data stores."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.common import CommandError


def _default_data_dir() -> Path:
    from app.config import get_settings

    return Path(get_settings().data_dir)


def _synth(args: argparse.Namespace) -> int:
    from app.engine.store import write_parquet_store
    from app.engine.synth import generate_synthetic_market

    if args.stocks < 1:
        raise CommandError("--stocks must be at least 1")
    data_dir = Path(args.data_dir) if args.data_dir else _default_data_dir()
    data = generate_synthetic_market(seed=args.seed, n_stocks=args.stocks)
    write_parquet_store(data, data_dir)
    print(
        f"wrote SYNTHETIC demo market to {data_dir}: {len(data.symbols)} symbols, "
        f"{len(data.sessions)} sessions {data.sessions[0].date()} .. {data.sessions[-1].date()} "
        f"(seed {args.seed})"
    )
    return 0


def _import_csv(args: argparse.Namespace) -> int:
    from app.engine.errors import BacktestInputError
    from app.engine.store import read_csv_bars, write_parquet_store

    data_dir = Path(args.data_dir) if args.data_dir else _default_data_dir()
    try:
        data = read_csv_bars(args.source)
    except BacktestInputError as exc:
        raise CommandError(str(exc)) from None
    write_parquet_store(data, data_dir)
    print(
        f"imported {len(data.symbols)} symbols, {len(data.sessions)} sessions "
        f"{data.sessions[0].date()} .. {data.sessions[-1].date()} into {data_dir}"
    )
    return 0


def _info(args: argparse.Namespace) -> int:
    from app.config import get_settings
    from app.engine.errors import BacktestInputError
    from app.engine.store import load_market_data

    settings = get_settings()
    source = args.data_source or settings.data_source
    data_dir = Path(args.data_dir) if args.data_dir else Path(settings.data_dir)
    try:
        data = load_market_data(source, data_dir)
    except BacktestInputError as exc:
        raise CommandError(str(exc)) from None
    provenance = data.provenance
    print(f"source:      {source} {data_dir}")
    shown = ", ".join(data.symbols[:8]) + (" ..." if len(data.symbols) > 8 else "")
    print(f"symbols:     {len(data.symbols)} ({shown})")
    if len(data.sessions):
        first, last = data.sessions[0].date(), data.sessions[-1].date()
        print(f"sessions:    {len(data.sessions)} {first} .. {last}")
    print(f"synthetic:   {'yes' if data.synthetic else 'no'}")
    print(f"provenance:  {provenance.get('description', provenance.get('source', ''))}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="build and inspect market data stores")
    commands = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    synth = commands.add_parser("synth", help="generate the deterministic SYNTHETIC demo market")
    synth.add_argument("--data-dir", help="Parquet store directory (default: settings data_dir)")
    synth.add_argument("--seed", type=int, default=7)
    synth.add_argument("--stocks", type=int, default=500)
    synth.set_defaults(handler=_synth)

    import_csv = commands.add_parser(
        "import-csv", help="import CSV bars (date,symbol,open,high,low,close,volume) to Parquet"
    )
    import_csv.add_argument("source", help="a CSV file or a directory of *.csv")
    import_csv.add_argument(
        "--data-dir", help="Parquet store directory (default: settings data_dir)"
    )
    import_csv.set_defaults(handler=_import_csv)

    info = commands.add_parser("info", help="describe a market data store")
    info.add_argument("--data-source", choices=["parquet", "lean", "csv"])
    info.add_argument("--data-dir")
    info.set_defaults(handler=_info)
