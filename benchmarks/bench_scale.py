"""Scale: records/s and worker RSS as tasks and connectors grow; RSS of an idle worker and of FileStream ones.

- ``sink-tasks-<n>``: the timed sink with ``tasks.max=n`` over a 16-partition JSON topic (timed to the last
  ``put``: with several tasks the commits follow at each task's next poll);
- ``source-tasks-<n>``: the timed synthetic source with ``tasks.max=n``;
- ``source-connectors-<n>``: ``n`` synthetic source connectors of one task sharing the records;
- ``idle`` and ``filestream-10``: RSS of ``kcfast standalone`` started from Kafka's sample properties, with
  no connector, and with 10 FileStream connectors (5 sources, 5 sinks) once the sinks wrote every line.

Rates are compared with the 1-task / 1-connector row of the same kind (``x ceiling`` column is empty).
"""

from __future__ import annotations

from typing import Any

import pytest

import _data
import _loops


@pytest.fixture(scope="module")
def wide_topic(kafka_broker: Any, loop_records: int) -> _loops.Topic:
    return _loops.preload(kafka_broker.bootstrap_servers, _data.json_values(loop_records), partitions=16)


@pytest.mark.parametrize("tasks", [1, 4, 16])
def test_scale_sink_tasks(kafka_broker: Any, wide_topic: _loops.Topic, record_result: Any, tasks: int) -> None:
    result = _loops.sink_worker(kafka_broker.bootstrap_servers, wide_topic, "json", tasks=tasks, suite="scale")
    result.case = f"sink-tasks-{tasks}"
    if tasks == 1:  # the same end point as the others: the last put
        result.seconds = result.extra["last_put_s"]
    record_result(result)
    assert result.records >= wide_topic.records // 2


@pytest.mark.parametrize("tasks", [1, 4, 16])
def test_scale_source_tasks(kafka_broker: Any, loop_records: int, record_result: Any, tasks: int) -> None:
    result = _loops.source_worker(kafka_broker.bootstrap_servers, loop_records, "json", tasks=tasks, suite="scale")
    result.case = f"source-tasks-{tasks}"
    record_result(result)
    assert result.records == loop_records


@pytest.mark.parametrize("connectors", [1, 10, 100])
def test_scale_source_connectors(kafka_broker: Any, loop_records: int, record_result: Any, connectors: int) -> None:
    result = _loops.source_worker(kafka_broker.bootstrap_servers, loop_records, "json", connectors=connectors,
                                  suite="scale")
    result.case = f"source-connectors-{connectors}"
    record_result(result)
    assert result.records == (loop_records // connectors) * connectors


@pytest.mark.parametrize("connectors", [0, 10])
def test_scale_standalone_rss(kafka_broker: Any, record_result: Any, connectors: int) -> None:
    result = record_result(_loops.standalone_rss(kafka_broker.bootstrap_servers, file_connectors=connectors))
    assert result.rss_kb > 0
