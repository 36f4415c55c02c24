"""A distributed worker process put together: ``kcfast distributed worker.properties``.

The worker reads its configuration (Kafka's ``connect-distributed.properties`` unchanged), binds the REST
listeners (the worker id is the advertised ``host:port``), builds the stores on the internal topics, the worker
and the :class:`~kcfast.runtime.distributed.herder.DistributedHerder`, starts the REST server (``/health``
answers 503 while the herder reads the internal topics and joins the group), and runs until SIGINT or SIGTERM.
Stopping stops every connector and task, flushes the stores and leaves the group.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable
from typing import Any

from kcfast.config import WorkerConfig
from kcfast.plugins import Plugins
from kcfast.properties import load_properties
from kcfast.rest.server import RestConfig, RestServer

__all__ = ["DistributedRuntime", "run_distributed"]

log = logging.getLogger(__name__)


class DistributedRuntime:
    """Everything ``kcfast distributed`` runs, with ``start``/``stop``.

    Args:
        worker_props: the worker file's keys and values.

    Raises:
        ConfigError: a required key (``group.id``, the three storage topics, converters) is missing or invalid.
    """

    def __init__(self, worker_props: dict[str, str]) -> None:
        from kcfast.config_providers import providers_from_worker_config, resolve, resolve_worker_config

        raw = dict(worker_props)
        self.plugins = Plugins(WorkerConfig(raw, distributed=True).plugin_path)
        self.props = {k: v for k, v in resolve_worker_config(raw, self.plugins).items() if v is not None}
        self.config = WorkerConfig(self.props, distributed=True)
        providers = providers_from_worker_config(self.props, self.plugins)

        def transform(config: Any) -> Any:
            return resolve(config, providers) if providers else dict(config)

        self._transform: Callable[[Any], Any] = transform
        self.server = RestServer(RestConfig.from_props(self.props))
        self.worker: Any = None
        self.herder: Any = None

    @classmethod
    def from_worker_file(cls, path: str) -> DistributedRuntime:
        """Read a worker properties file."""
        return cls(load_properties(path))

    @property
    def rest_url(self) -> str:
        """The advertised REST URL."""
        return str(self.server.advertised_url())

    async def start(self) -> None:
        """Bind and serve REST, and start the herder (which joins the group in the background)."""
        from kcfast.runtime.distributed.herder import DistributedHerder
        from kcfast.runtime.worker import Worker, lookup_kafka_cluster_id
        from kcfast.storage.kafka_config import KafkaConfigBackingStore
        from kcfast.storage.kafka_offsets import KafkaOffsetBackingStore
        from kcfast.storage.kafka_status import KafkaStatusBackingStore

        self.server.bind()
        loop = asyncio.get_running_loop()
        cluster_id = await loop.run_in_executor(None, lookup_kafka_cluster_id, self.config)
        offsets = KafkaOffsetBackingStore.from_worker_config(self.config)
        statuses = KafkaStatusBackingStore.from_worker_config(self.config)
        configs = KafkaConfigBackingStore.from_worker_config(self.config, self._transform)
        self.worker = Worker(
            self.server.worker_id(), self.config, self.plugins, offsets, kafka_cluster_id=cluster_id
        )
        self.herder = DistributedHerder(
            self.worker,
            self.config,
            statuses,
            configs,
            self.server.advertised_url(),
            kafka_cluster_id=cluster_id,
            config_transformer=self._transform,
        )
        self.worker.topic_listener = self.herder.record_active_topic
        await self.herder.start()
        await self.server.start(self.herder)
        log.info(
            "Kafka Connect distributed worker initialization took place; REST server listening at %s",
            self.rest_url,
        )
        gc.freeze()

    async def stop(self) -> None:
        """Stop serving REST, then stop the herder (connectors, tasks, stores, group membership)."""
        try:
            await self.server.stop()
        finally:
            if self.herder is not None:
                await self.herder.stop()


async def run_distributed(worker_file: str) -> int:
    """Run a distributed worker until SIGINT/SIGTERM; returns the process exit code (1 on a fatal error)."""
    runtime = DistributedRuntime.from_worker_file(worker_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    log.info("Kafka Connect started")
    stopping = asyncio.ensure_future(stop.wait())
    ended = asyncio.ensure_future(runtime.herder.wait_stopped())
    try:
        await asyncio.wait({stopping, ended}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        log.info("Kafka Connect stopping")
        await runtime.stop()
        ended.cancel()
        log.info("Kafka Connect stopped")
    return 1 if runtime.herder.failure is not None else 0
