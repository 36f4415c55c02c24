"""The ``kcfast`` command: ``standalone``, ``quickstart``, ``version``, ``plugins``."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from typing import Any

from kcfast._version import KAFKA_VERSION, __version__

log = logging.getLogger("kcfast")

EXIT_CONNECTOR_FAILED = 3


def read_connector_file(path: str) -> tuple[str, dict[str, str], str | None]:
    """Read a connector file: Java properties, or JSON (flat, or ``{"name","config","initial_state"}``)."""
    from kcfast.errors import ConfigError
    from kcfast.properties import load_properties

    if path.endswith(".json"):
        with open(path, encoding="utf-8") as fh:
            try:
                doc = json.load(fh)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"Connector file {path} is not valid JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise ConfigError(f"Connector file {path} must hold a JSON object")
        initial_state = None
        if isinstance(doc.get("config"), dict):
            config = {str(k): _stringify(v) for k, v in doc["config"].items()}
            name = doc.get("name") or config.get("name")
            initial_state = doc.get("initial_state")
        else:
            config = {str(k): _stringify(v) for k, v in doc.items()}
            name = config.get("name")
    else:
        config = load_properties(path)
        name = config.get("name")
        initial_state = None
    if not name:
        raise ConfigError(f"Connector file {path} does not specify a connector name ('name')")
    config.setdefault("name", str(name))
    return str(name), config, initial_state


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def _run_standalone(worker_file: str, connector_files: list[str], ready: Any = None) -> int:
    from kcfast.runtime.standalone_main import StandaloneRuntime

    runtime = StandaloneRuntime.from_worker_file(worker_file)
    await runtime.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for path in connector_files:
            name, config, initial_state = read_connector_file(path)
            try:
                await runtime.create_connector(name, config, initial_state)
            except Exception as exc:  # noqa: BLE001
                log.error("Failed to create connector for %s: %s", path, exc)
                return EXIT_CONNECTOR_FAILED
        runtime.ready()
        log.info("Kafka Connect started; REST server listening at %s", runtime.rest_url)
        if ready is not None:
            ready(runtime)
        await stop.wait()
    finally:
        log.info("Kafka Connect stopping")
        await runtime.stop()
        log.info("Kafka Connect stopped")
    return 0


def _install_loop() -> None:
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # pragma: no cover
        pass


def cmd_standalone(args: argparse.Namespace) -> int:
    _install_loop()
    try:
        return asyncio.run(_run_standalone(args.worker, args.connectors))
    except Exception as exc:  # noqa: BLE001 - startup failures end the process with a clear message
        log.error("Stopping due to error: %s", exc, exc_info=log.isEnabledFor(logging.DEBUG))
        return 1


def cmd_distributed(args: argparse.Namespace) -> int:
    from kcfast.runtime.distributed_main import run_distributed

    _install_loop()
    try:
        return asyncio.run(run_distributed(args.worker))
    except Exception as exc:  # noqa: BLE001 - startup failures end the process with a clear message
        log.error("Stopping due to error: %s", exc, exc_info=log.isEnabledFor(logging.DEBUG))
        return 1


def cmd_version(args: argparse.Namespace) -> int:
    from kcfast import core

    print(f"kcfast {__version__} (Kafka Connect {KAFKA_VERSION} compatible, record core: {core.IMPLEMENTATION})")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from kcfast.plugins import Plugins

    plugins = Plugins(args.plugin_path.split(",") if args.plugin_path else None)
    for desc in plugins.all_plugins():
        print(f"{desc.type:<17} {desc.class_name:<70} {desc.version or ''}")
    return 0


def cmd_quickstart(args: argparse.Namespace) -> int:
    from kcfast.quickstart import run_quickstart

    _install_loop()
    return run_quickstart(port=args.port, records=args.records, rate=args.rate, duration=args.duration)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kcfast", description="A Kafka Connect worker for Python connectors.")
    parser.add_argument("--log-level", default=os.environ.get("KCFAST_LOG_LEVEL"),
                        help="root log level (TRACE, DEBUG, INFO, WARN, ERROR); overrides the config file's")
    parser.add_argument("--log-config", default=None, metavar="FILE",
                        help="logging config: a log4j .properties file (e.g. Kafka's connect-log4j.properties) "
                             "or a Python dictConfig .json/.yaml file; KAFKA_LOG4J_OPTS is honoured too")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("standalone", help="run a standalone worker, like connect-standalone.sh")
    p.add_argument("worker", help="worker properties file (e.g. connect-standalone.properties)")
    p.add_argument("connectors", nargs="*", help="connector .properties or .json files")
    p.set_defaults(func=cmd_standalone)

    p = sub.add_parser("distributed", help="run a distributed worker, like connect-distributed.sh")
    p.add_argument("worker", help="worker properties file (e.g. connect-distributed.properties)")
    p.set_defaults(func=cmd_distributed)

    p = sub.add_parser("quickstart", help="embedded broker + standalone worker + demo pipeline")
    p.add_argument("--port", type=int, default=8083, help="REST port (default 8083; 0 = any free port)")
    p.add_argument("--records", type=int, default=-1, help="records to generate (-1 = until Ctrl-C)")
    p.add_argument("--rate", type=int, default=20000, help="records per second (0 = as fast as possible)")
    p.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0 = Ctrl-C)")
    p.set_defaults(func=cmd_quickstart)

    p = sub.add_parser("version", help="print the version")
    p.set_defaults(func=cmd_version)

    p = sub.add_parser("plugins", help="list installed connectors, converters, transforms and predicates")
    p.add_argument("--plugin-path", default="", help="comma-separated plugin.path directories")
    p.set_defaults(func=cmd_plugins)
    return parser


def main(argv: list[str] | None = None) -> int:
    from kcfast.logging_setup import configure_logging

    args = build_parser().parse_args(argv)
    configure_logging(args.log_level, args.log_config)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
