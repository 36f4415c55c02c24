"""REST tests of the root, health, plugins, validation, loggers, topics, OpenAPI and server-level behaviour."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator

import aiohttp
import pytest
from fake_worker import SINK, SOURCE, VALIDATE_GATE, async_test, call, create, error, running

from kcfast.api.config import ConfigValue
from kcfast.api.policy import ConnectorClientConfigOverridePolicy, ConnectorClientConfigRequest
from kcfast.errors import ConfigError
from kcfast.plugins import Plugins
from kcfast.rest.openapi import openapi_document
from kcfast.rest.server import Listener, RestConfig, RestServer, all_routes

INSTANT = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z"


@async_test
async def test_root_reports_the_kafka_version_and_cluster() -> None:
    async with running() as (session, _, worker):
        assert await call(session, "GET", "/") == (
            200, {"version": "3.9.0", "commit": "unknown", "kafka_cluster_id": worker.kafka_cluster_id}
        )


@async_test
async def test_router_errors_have_the_json_error_body() -> None:
    async with running() as (session, _, _):
        assert await call(session, "GET", "/no/such/path") == error(404, "HTTP 404 Not Found")
        async with session.delete("/connector-plugins") as response:
            assert response.status == 405
            assert "GET" in response.headers["Allow"]
            assert await response.json() == {"error_code": 405, "message": "HTTP 405 Method Not Allowed"}


@async_test
async def test_head_requests_and_trailing_slashes_are_accepted() -> None:
    async with running() as (session, _, _):
        await create(session, "c")
        assert await call(session, "GET", "/connectors/") == (200, ["c"])
        assert (await call(session, "GET", "/connectors/c/status/"))[0] == 200
        async with session.head("/connectors/c") as response:
            assert response.status == 200 and await response.read() == b""


# -- health and timeouts ----------------------------------------------------------------------------------------


@async_test
async def test_health_of_a_ready_worker() -> None:
    async with running() as (session, _, _):
        assert await call(session, "GET", "/health") == (
            200, {"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."}
        )


@async_test
async def test_health_while_starting_then_ready() -> None:
    async with running(ready=False, health_timeout=0.05) as (session, herder, _):
        assert await call(session, "GET", "/health") == (
            503, {"status": "starting", "message": "Worker is still starting up."}
        )
        herder.ready()
        assert (await call(session, "GET", "/health"))[0] == 200


@async_test
async def test_health_and_requests_when_the_herder_is_stuck() -> None:
    # Timeouts long enough for the request to reach the blocked stage on a loaded machine.
    async with running(health_timeout=0.5, request_timeout=2.0) as (session, _, worker):
        worker.block_start.clear()
        config = {"connector.class": SOURCE, "topic": "t"}
        status, answer = await call(session, "PUT", "/connectors/c/config", json=config)
        assert status == 500
        assert re.fullmatch(
            rf"Request timed out\. The worker is currently starting the connector, which began at {INSTANT}\.",
            answer["message"],
        ), answer
        status, answer = await call(session, "DELETE", "/connectors/other")
        assert status == 500 and "The worker is currently starting the connector" in answer["message"]
        status, answer = await call(session, "GET", "/health")
        assert status == 500 and answer["status"] == "unhealthy"
        assert answer["message"].startswith(
            "Worker was unable to handle this request and may be unable to handle other requests. "
            "The worker is currently starting the connector, which began at "
        )
        worker.block_start.set()
        for _ in range(100):
            if (await call(session, "GET", "/health"))[0] == 200:
                break
        assert await call(session, "GET", "/connectors") == (200, ["c"])


@async_test
async def test_a_validation_that_times_out_names_its_stage_without_a_final_period() -> None:
    VALIDATE_GATE.clear()
    try:
        async with running(request_timeout=2.0) as (session, _, _):
            config = {"connector.class": SOURCE, "topic": "t", "block.validate": "true"}
            status, answer = await call(session, "PUT", "/connector-plugins/FakeSource/config/validate", json=config)
            assert status == 500
            assert re.fullmatch(
                rf"Request timed out\. The worker is currently performing multi-property validation for the "
                rf"connector, which began at {INSTANT}",
                answer["message"],
            ), answer
            status, answer = await call(session, "POST", "/connectors", json={"name": "c", "config": config})
            assert status == 500
            assert answer["message"].startswith(
                "Request timed out. The worker is currently performing multi-property validation for the connector"
            )
            assert answer["message"].endswith("Z.")
    finally:
        VALIDATE_GATE.set()


# -- plugins and validation -------------------------------------------------------------------------------------


@async_test
async def test_plugin_listing() -> None:
    async with running() as (session, herder, _):
        status, connectors = await call(session, "GET", "/connector-plugins")
        assert status == 200
        assert {p["type"] for p in connectors} <= {"source", "sink"}
        _, everything = await call(session, "GET", "/connector-plugins?connectorsOnly=false")
        assert [p for p in everything if p["type"] in ("source", "sink")] == connectors
        expected = [d.class_name for d in herder.plugins.all_plugins()]
        assert [p["class"] for p in everything] == expected
        for plugin in everything:
            assert set(plugin) <= {"class", "type", "version"}
            assert plugin.get("version") != "undefined"


@async_test
async def test_plugin_config_lists_plugin_keys_then_framework_keys() -> None:
    async with running() as (session, _, _):
        status, keys = await call(session, "GET", "/connector-plugins/fake_worker.FakeSourceConnector/config")
        assert status == 200
        names = [k["name"] for k in keys]
        assert names[:2] == ["topic", "setting"]
        assert names[2:5] == ["name", "connector.class", "tasks.max"]
        assert "topic.creation.groups" in names and "topics" not in names
        topic = keys[0]
        assert topic == {
            "name": "topic", "type": "STRING", "required": True, "default_value": None, "importance": "HIGH",
            "documentation": "The topic to publish data to", "group": None, "order": -1, "width": "NONE",
            "display_name": "topic", "dependents": [],
        }
        _, sink_keys = await call(session, "GET", f"/connector-plugins/{SINK}/config")
        assert "topics" in [k["name"] for k in sink_keys]
        assert await call(session, "GET", "/connector-plugins/no.such.Plugin/config") == error(
            404, "Unknown plugin no.such.Plugin."
        )
        assert await call(session, "GET", "/connector-plugins/fake_worker.NotAConnector/config") == error(
            400,
            "Invalid plugin class fake_worker.NotAConnector. Valid types are sink, source, converter, "
            "header_converter, transformation, predicate.",
        )


@async_test
async def test_validate_answers_200_with_the_errors() -> None:
    async with running() as (session, _, _):
        config = {"connector.class": SOURCE, "tasks.max": "0"}
        status, infos = await call(session, "PUT", "/connector-plugins/FakeSourceConnector/config/validate",
                                   json=config)
        assert status == 200
        assert infos["name"] == SOURCE and infos["error_count"] == 3
        assert "Common" in infos["groups"]
        by_name = {c["value"]["name"]: c for c in infos["configs"] if c["value"] is not None}
        assert by_name["tasks.max"]["value"]["errors"] == [
            "Invalid value 0 for configuration tasks.max: Value must be at least 1"
        ]
        assert by_name["name"]["value"]["errors"] == ['Missing required configuration "name" which has no default value.']
        assert by_name["topic"]["definition"]["required"] is True
        names = [c["definition"]["name"] for c in infos["configs"] if c["definition"] is not None]
        assert names.index("name") < names.index("topic")
        config.update({"name": "ok", "tasks.max": "1", "topic": "t"})
        _, infos = await call(session, "PUT", "/connector-plugins/FakeSource/config/validate", json=config)
        assert infos["error_count"] == 0


@async_test
async def test_validate_converters_set_in_the_connector_config() -> None:
    async with running() as (session, _, _):
        config = {
            "name": "c", "connector.class": SOURCE, "topic": "t",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "maybe",
        }
        _, infos = await call(session, "PUT", "/connector-plugins/FakeSource/config/validate", json=config)
        assert infos["error_count"] == 1
        converter = [c for c in infos["configs"] if c["value"]["name"].startswith("value.converter.")]
        assert [c["value"]["name"] for c in converter][:2] == ["value.converter.converter.type",
                                                               "value.converter.schemas.enable"]
        assert converter[1]["value"]["errors"] == [
            "Invalid value maybe for configuration schemas.enable: Expected value to be either true or false"
        ]
        assert converter[1]["definition"]["name"] == "value.converter.schemas.enable"
        config["value.converter.schemas.enable"] = "false"
        config["key.converter"] = "NoSuchConverter"
        _, infos = await call(session, "PUT", "/connector-plugins/FakeSource/config/validate", json=config)
        assert infos["error_count"] == 1
        key = next(c for c in infos["configs"] if c["value"] and c["value"]["name"] == "key.converter")
        assert key["value"]["errors"] and "NoSuchConverter" in key["value"]["errors"][0]
        assert not any(c["value"]["name"].startswith("key.converter.") for c in infos["configs"] if c["value"])


class DenyEverything(ConnectorClientConfigOverridePolicy):
    """Rejects every override, with the message of Kafka's None policy."""


    def validate(self, request: ConnectorClientConfigRequest) -> list[ConfigValue]:
        values = []
        for key, value in request.client_props.items():
            entry = ConfigValue(key, value)
            entry.add_error_message(f"The 'None' policy does not allow '{key}' to be overridden in the connector "
                                    "configuration.")
            values.append(entry)
        return values


@async_test
async def test_client_overrides_are_checked_by_the_configured_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def policy_class(plugins: Plugins, name: str) -> type:
        asked.append(name)
        return DenyEverything

    monkeypatch.setattr(Plugins, "override_policy_class", policy_class)
    async with running() as (session, _, worker):
        worker.config["connector.client.config.override.policy"] = "None"
        config = {"name": "c", "connector.class": SOURCE, "topic": "t", "producer.override.acks": "1",
                  "producer.override.linger.ms": "5", "consumer.override.group.id": "ignored-for-sources"}
        _, infos = await call(session, "PUT", "/connector-plugins/FakeSource/config/validate", json=config)
        assert asked and set(asked) == {"None"}
        assert infos["error_count"] == 2
        overrides = [c for c in infos["configs"] if c["definition"] is None and c["value"]["errors"]]
        assert [c["value"]["name"] for c in overrides] == ["producer.override.acks", "producer.override.linger.ms"]
        status, answer = await call(session, "POST", "/connectors", json={"name": "c", "config": config})
        assert status == 400
        assert answer["message"].startswith("Connector configuration is invalid and contains the following 2 error(s):"
                                            "\nThe 'None' policy does not allow 'acks' to be overridden")
        del config["producer.override.acks"], config["producer.override.linger.ms"]
        assert (await call(session, "POST", "/connectors", json={"name": "c", "config": config}))[0] == 201


@async_test
async def test_validate_checks_the_plugin_name_against_the_config() -> None:
    async with running() as (session, _, _):
        config = {"connector.class": SOURCE, "topic": "t"}
        assert await call(session, "PUT", "/connector-plugins/FakeSinkConnector/config/validate", json=config) == (
            error(400, f"Included connector type {SOURCE} does not match request type FakeSinkConnector")
        )
        assert await call(session, "PUT", "/connector-plugins/FakeSource/config/validate", json={"a": "b"}) == error(
            400, "Connector config {a=b} contains no connector type"
        )


# -- loggers ----------------------------------------------------------------------------------------------------


@pytest.fixture
def restore_loggers() -> Iterator[None]:
    levels = {n: lg.level for n, lg in logging.Logger.manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    root = logging.getLogger().level
    yield
    for name, lg in logging.Logger.manager.loggerDict.items():
        if isinstance(lg, logging.Logger):
            lg.setLevel(levels.get(name, logging.NOTSET))
    logging.getLogger().setLevel(root)


@pytest.mark.usefixtures("restore_loggers")
@async_test
async def test_logger_levels() -> None:
    async with running() as (session, _, _):
        status, levels = await call(session, "GET", "/admin/loggers")
        assert status == 200 and "root" in levels and list(levels) == sorted(levels)
        logging.getLogger("kctest.ns.child")
        logging.getLogger("kctest.nsx")
        status, changed = await call(session, "PUT", "/admin/loggers/kctest.ns", json={"level": "debug"})
        assert (status, changed) == (200, ["kctest.ns", "kctest.ns.child", "kctest.nsx"])
        status, level = await call(session, "GET", "/admin/loggers/kctest.ns.child")
        assert status == 200 and level["level"] == "DEBUG" and isinstance(level["last_modified"], int)
        first = level["last_modified"]
        await call(session, "PUT", "/admin/loggers/kctest.ns.child", json={"level": "DEBUG"})
        assert (await call(session, "GET", "/admin/loggers/kctest.ns.child"))[1]["last_modified"] == first
        _, levels = await call(session, "GET", "/admin/loggers")
        assert levels["kctest.ns"] == {"level": "DEBUG", "last_modified": first}
        assert await call(session, "PUT", "/admin/loggers/kctest.ns?scope=cluster", json={"level": "WARN"}) == (
            204, None
        )
        assert (await call(session, "GET", "/admin/loggers/kctest.ns"))[1]["level"] == "WARN"
        assert (await call(session, "GET", "/admin/loggers/ROOT"))[0] == 200


@pytest.mark.usefixtures("restore_loggers")
@async_test
async def test_logger_errors() -> None:
    async with running() as (session, _, _):
        assert await call(session, "GET", "/admin/loggers/kctest.never.created") == error(
            404, "Logger kctest.never.created not found."
        )
        assert await call(session, "PUT", "/admin/loggers/kctest.x", json={"level": "LOUD"}) == error(
            404, "invalid log level 'LOUD'."
        )
        assert await call(session, "PUT", "/admin/loggers/kctest.x", json={"lvl": "INFO"}) == error(
            400, "Desired 'level' parameter was not specified in request."
        )


@async_test
async def test_admin_endpoints_can_be_disabled() -> None:
    async with running(props={"admin.listeners": ""}) as (session, _, _):
        assert await call(session, "GET", "/admin/loggers") == error(404, "HTTP 404 Not Found")
        assert (await call(session, "GET", "/connectors"))[0] == 200


@async_test
async def test_admin_endpoints_on_their_own_listener() -> None:
    config = RestConfig.from_props({"listeners": "http://127.0.0.1:0", "admin.listeners": "http://127.0.0.1:0"})
    server = RestServer(config)
    server.bind()
    async with running() as (_, herder, _):
        await server.start(herder)
        try:
            async with aiohttp.ClientSession() as session:
                main, admin = server.ports()[0], server.admin_ports()[0]
                assert (await call(session, "GET", f"http://127.0.0.1:{admin}/admin/loggers"))[0] == 200
                assert (await call(session, "GET", f"http://127.0.0.1:{main}/admin/loggers"))[0] == 404
                assert (await call(session, "GET", f"http://127.0.0.1:{admin}/connectors"))[0] == 404
        finally:
            await server.stop()


# -- topics -----------------------------------------------------------------------------------------------------


@async_test
async def test_active_topics_are_tracked_and_reset() -> None:
    async with running() as (session, herder, _):
        assert await call(session, "GET", "/connectors/c/topics") == (200, {"c": {"topics": []}})
        await create(session, "c")
        herder.record_active_topic("c", "t1")
        herder.record_active_topic("c", "t2")
        herder.record_active_topic("c", "t1")
        assert await call(session, "GET", "/connectors/c/topics") == (200, {"c": {"topics": ["t1", "t2"]}})
        assert await call(session, "PUT", "/connectors/c/topics/reset") == (202, None)
        assert await call(session, "GET", "/connectors/c/topics") == (200, {"c": {"topics": []}})
        herder.record_active_topic("c", "t3")
        await call(session, "DELETE", "/connectors/c")
        assert await call(session, "GET", "/connectors/c/topics") == (200, {"c": {"topics": []}})


@async_test
async def test_topic_tracking_can_be_disabled() -> None:
    async with running(topic_tracking=False) as (session, _, _):
        assert await call(session, "GET", "/connectors/c/topics") == error(403, "Topic tracking is disabled.")
        assert await call(session, "PUT", "/connectors/c/topics/reset") == error(403, "Topic tracking is disabled.")
    async with running(topic_tracking_reset=False) as (session, _, _):
        assert (await call(session, "GET", "/connectors/c/topics"))[0] == 200
        assert await call(session, "PUT", "/connectors/c/topics/reset") == error(
            403, "Topic tracking reset is disabled."
        )


# -- internal endpoints, OpenAPI --------------------------------------------------------------------------------


@async_test
async def test_internal_endpoints_are_not_supported_in_standalone() -> None:
    async with running() as (session, _, _):
        await create(session, "c")
        assert await call(session, "POST", "/connectors/c/tasks", json=[{"a": "b"}]) == error(
            500, "Kafka Connect in standalone mode does not support externally setting task configurations."
        )
        assert await call(session, "PUT", "/connectors/c/fence") == error(
            500, "Kafka Connect in standalone mode does not support exactly-once source connectors."
        )
        status, answer = await call(session, "POST", "/connectors/c/tasks", data=b"",
                                    headers={"Content-Type": "application/json"})
        assert status == 500 and answer["message"].startswith("No content to map due to end-of-input")


@async_test
async def test_openapi_document_describes_every_public_route() -> None:
    async with running() as (session, _, _):
        status, document = await call(session, "GET", "/openapi.json")
        assert status == 200 and document["openapi"].startswith("3.")
        described = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
        public = {(r.method, r.path) for r in all_routes() if not r.hidden}
        assert described == public
        assert ("POST", "/connectors/{connector}/tasks") not in described
        refs = re.findall(r'"#/components/schemas/([A-Za-z]+)"', str(document).replace("'", '"'))
        assert set(refs) <= set(document["components"]["schemas"])
        assert document == openapi_document(r for r in all_routes())


# -- server configuration ---------------------------------------------------------------------------------------


def test_listener_parsing() -> None:
    assert Listener.parse("http://:8083") == Listener("http", "", 8083)
    assert Listener.parse("HTTPS://[::1]:9000") == Listener("https", "::1", 9000)
    with pytest.raises(ConfigError, match=r"Listener doesn't have the right format \(protocol://hostname:port\)."):
        Listener.parse("localhost:8083")
    with pytest.raises(ConfigError, match='Listener protocol must be either "http" or "https".'):
        Listener.parse("ftp://host:21")


def test_advertised_url_and_worker_id() -> None:
    server = RestServer(RestConfig.from_props({"listeners": "http://127.0.0.1:0"}))
    server.bind()
    try:
        port = server.ports()[0]
        assert server.advertised_url() == f"http://127.0.0.1:{port}/"
        assert server.worker_id() == f"127.0.0.1:{port}"
    finally:
        asyncio.run(server.stop())
    config = RestConfig.from_props({"listeners": "http://127.0.0.1:0", "rest.advertised.host.name": "connect-1",
                                    "rest.advertised.port": "9999", "rest.advertised.listener": "HTTPS"})
    server = RestServer(config)
    server.bind()
    try:
        assert server.advertised_url() == "https://connect-1:9999/"
        assert server.worker_id() == "connect-1:9999"
    finally:
        asyncio.run(server.stop())


@async_test
async def test_several_listeners_serve_the_same_api() -> None:
    config = RestConfig.from_props({"listeners": "http://127.0.0.1:0,http://localhost:0"})
    server = RestServer(config)
    server.bind()
    async with running() as (_, herder, _):
        await server.start(herder)
        try:
            async with aiohttp.ClientSession() as session:
                for port in server.ports():
                    assert (await call(session, "GET", f"http://127.0.0.1:{port}/connectors"))[0] == 200
        finally:
            await server.stop()


@async_test
async def test_cors_and_response_headers() -> None:
    props = {
        "access.control.allow.origin": "http://ui.example",
        "access.control.allow.methods": "GET,PUT",
        "response.http.headers.config": 'add X-Frame-Options: DENY, "set Cache-Control: no-cache, no-store"',
    }
    async with running(props=props) as (session, _, _):
        async with session.get("/connectors", headers={"Origin": "http://ui.example"}) as response:
            assert response.headers["Access-Control-Allow-Origin"] == "http://ui.example"
            assert response.headers["X-Frame-Options"] == "DENY"
            assert response.headers["Cache-Control"] == "no-cache, no-store"
        async with session.get("/connectors", headers={"Origin": "http://evil.example"}) as response:
            assert "Access-Control-Allow-Origin" not in response.headers
        preflight = {"Origin": "http://ui.example", "Access-Control-Request-Method": "PUT"}
        async with session.options("/connectors/c/config", headers=preflight) as response:
            assert response.status == 200
            assert response.headers["Access-Control-Allow-Methods"] == "GET,PUT"
        async with session.get("/nope") as response:
            assert response.status == 404 and response.headers["X-Frame-Options"] == "DENY"
