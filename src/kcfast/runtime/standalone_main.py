"""A standalone worker process put together: config, plugins, offset file, worker, herder, REST server."""

from __future__ import annotations

import gc
import logging
from typing import Any

from kcfast.config import WorkerConfig
from kcfast.errors import ConfigError
from kcfast.plugins import Plugins
from kcfast.properties import load_properties
from kcfast.rest.server import RestConfig, RestServer
from kcfast.runtime.standalone import StandaloneHerder
from kcfast.runtime.status import TargetState
from kcfast.runtime.worker import Worker, lookup_kafka_cluster_id
from kcfast.storage.file import FileOffsetBackingStore

log = logging.getLogger(__name__)

_INITIAL_STATES = {"RUNNING": TargetState.STARTED, "PAUSED": TargetState.PAUSED, "STOPPED": TargetState.STOPPED}


class StandaloneRuntime:
    """Everything ``kcfast standalone`` runs, in one object with ``start``/``stop``."""

    def __init__(self, worker_props: dict[str, str]) -> None:
        from kcfast.config_providers import providers_from_worker_config, resolve, resolve_worker_config

        raw = dict(worker_props)
        self.plugins = Plugins(WorkerConfig(raw).plugin_path)
        # The worker config's own ${provider:path:key} variables are resolved once, at startup.
        self.props = {k: v for k, v in resolve_worker_config(raw, self.plugins).items() if v is not None}
        self.config = WorkerConfig(self.props)
        self.providers = providers_from_worker_config(self.props, self.plugins)
        providers = self.providers

        def transform(config: Any) -> Any:
            return resolve(config, providers) if providers else dict(config)

        self._transform = transform
        self.server = RestServer(RestConfig.from_props(self.props))
        self.worker: Any = None
        self.herder: Any = None

    @classmethod
    def from_worker_file(cls, path: str) -> "StandaloneRuntime":
        return cls(load_properties(path))

    @property
    def rest_url(self) -> str:
        return str(self.server.advertised_url())

    async def start(self) -> None:
        self.server.bind()
        filename = self.config.offset_storage_file_filename
        if not filename:
            raise ConfigError('Missing required configuration "offset.storage.file.filename" which has no default '
                              "value.")
        store = FileOffsetBackingStore(filename)
        self.worker = Worker(self.server.worker_id(), self.config, self.plugins, store,
                             kafka_cluster_id=lookup_kafka_cluster_id(self.config))
        self.herder = StandaloneHerder(self.worker, kafka_cluster_id=self.worker.kafka_cluster_id,
                                       config_transformer=self._transform)
        self.worker.topic_listener = self.herder.record_active_topic
        await self.herder.start()
        await self.server.start(self.herder)
        # Everything allocated so far lives as long as the worker: keep it out of the cyclic collector's
        # scans, which otherwise cost a measurable share of the record loop.
        gc.freeze()
        # Records are short-lived and acyclic: collect the young generation far less often (measured: about
        # 15% less CPU per record on the sink loop and 25% on the source loop, benchmarks/README.md).
        gc.set_threshold(100_000, 50, 100)

    async def create_connector(self, name: str, config: dict[str, str], initial_state: str | None = None) -> Any:
        target = None
        if initial_state:
            try:
                target = _INITIAL_STATES[initial_state.strip().upper()]
            except KeyError:
                raise ValueError(f"Unknown initial_state {initial_state!r}; expected RUNNING, PAUSED or STOPPED") \
                    from None
        created, info = await self.herder.put_connector_config(name, config, allow_replace=False,
                                                               target_state=target)
        log.info("Created connector %s", name)
        return info

    def ready(self) -> None:
        self.herder.ready()

    async def stop(self) -> None:
        try:
            await self.server.stop()
        finally:
            if self.herder is not None:
                await self.herder.stop()
