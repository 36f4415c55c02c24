"""The REST server: aiohttp applications on the configured listeners.

Usage (two phases, as Kafka does, because the worker id is the advertised ``host:port``, known only once the
listeners are bound)::

    server = RestServer(RestConfig.from_props(worker_props))
    server.bind()                      # binds every listener
    worker = Worker(server.worker_id(), ...)
    herder = StandaloneHerder(worker, ...)
    await server.start(herder)         # starts answering
    ...
    await server.stop()

``listeners`` (default ``http://:8083``) may name several ``http://`` and ``https://`` listeners;
``admin.listeners`` moves ``/admin/*`` to its own listeners (empty: no admin endpoints; unset: served on the
main listeners). ``access.control.allow.origin``/``.methods`` enable CORS; ``response.http.headers.config``
adds response headers. HTTPS listeners take PEM key stores (``ssl.keystore.type=PEM``).
``rest.extension.classes`` with Kafka's ``BasicAuthSecurityRestExtension`` (or ``rest.basic.auth.credentials.file``)
puts every listener behind HTTP basic authentication (:mod:`kcfast.rest.auth`). ``GET /metrics`` serves the
worker's metrics in the Prometheus text format (:mod:`kcfast.metrics`).
"""

from __future__ import annotations

import csv
import email.utils
import logging
import re
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kcfast.errors import ConfigError, ConnectError
from kcfast.metrics import new_registry
from kcfast.rest.auth import BasicAuth
from kcfast.rest.errors import error_middleware
from kcfast.rest.resources import connectors, plugins, root
from kcfast.rest.resources._common import HERDER, ROUTES, SETTINGS, Handler, RestSettings, Route

log = logging.getLogger(__name__)

LISTENER_PATTERN = re.compile(r"^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)")
_HEADER_ACTIONS = ("set", "add", "setDate", "addDate")
#: Largest request body accepted (connector configs are small; validation bodies may be larger).
MAX_BODY_BYTES = 64 * 1024 * 1024


def all_routes() -> list[Route]:
    """Every route of the API, regular and admin."""
    return [*root.ROUTES, *connectors.ROUTES, *plugins.ROUTES, *root.ADMIN_ROUTES]


def _as_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return [str(item).strip() for item in value]


def _as_bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


@dataclass
class Listener:
    """One ``protocol://host:port`` listener (an empty host means every interface)."""

    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Listener:
        """Parse a listener; raises :class:`ConfigError` with Kafka's messages."""
        match = LISTENER_PATTERN.match(text)
        if match is None:
            raise ConfigError("Listener doesn't have the right format (protocol://hostname:port).")
        scheme = match.group(1).lower()
        if scheme not in ("http", "https"):
            raise ConfigError('Listener protocol must be either "http" or "https".')
        return cls(scheme, match.group(2), int(match.group(3)))


@dataclass
class RestConfig:
    """The REST settings of a worker config (spec section 6); build it with :meth:`from_props`."""

    listeners: list[str] = field(default_factory=lambda: ["http://:8083"])
    admin_listeners: list[str] | None = None
    advertised_host_name: str | None = None
    advertised_port: int | None = None
    advertised_listener: str | None = None
    allow_origin: str = ""
    allow_methods: str = ""
    response_headers: str = ""
    topic_tracking: bool = True
    topic_tracking_reset: bool = True
    props: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> RestConfig:
        """Read the REST keys of a worker config (raw strings or parsed values)."""
        port = props.get("rest.advertised.port")
        return cls(
            listeners=_as_list(props.get("listeners")) or ["http://:8083"],
            admin_listeners=_as_list(props.get("admin.listeners")),
            advertised_host_name=props.get("rest.advertised.host.name") or None,
            advertised_port=int(port) if port not in (None, "") else None,
            advertised_listener=props.get("rest.advertised.listener") or None,
            allow_origin=str(props.get("access.control.allow.origin") or ""),
            allow_methods=str(props.get("access.control.allow.methods") or ""),
            response_headers=str(props.get("response.http.headers.config") or ""),
            topic_tracking=_as_bool(props.get("topic.tracking.enable"), True),
            topic_tracking_reset=_as_bool(props.get("topic.tracking.allow.reset"), True),
            props=dict(props),
        )


# -- middlewares ---------------------------------------------------------------------------------------------


def _header_rules(config: str) -> list[tuple[str, str, str]]:
    rules = []
    for rule in next(csv.reader([config], skipinitialspace=True)):
        tokens = rule.strip().split(None, 1)
        if len(tokens) != 2:
            raise ConfigError(f"Invalid format of header config '{rule}'. Expected: '[action] [header name]:[header value]'")
        action = next((a for a in _HEADER_ACTIONS if a.lower() == tokens[0].lower()), None)
        if action is None:
            raise ConfigError(f"Invalid header config action: '{tokens[0]}'. Expected one of {list(_HEADER_ACTIONS)}")
        name, sep, value = tokens[1].partition(":")
        if not sep or not name.strip() or re.search(r"\s", name.strip()):
            raise ConfigError(f"Invalid format of header name and header value pair '{tokens[1]}'.")
        rules.append((action, name.strip(), value.strip()))
    return rules


def _header_middleware(rules: list[tuple[str, str, str]]) -> Any:
    @web.middleware
    async def add_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        for action, name, value in rules:
            if action.endswith("Date"):
                value = email.utils.formatdate(time.time() + int(value) / 1000, usegmt=True)
            if action.startswith("set"):
                response.headers[name] = value
            else:
                response.headers.add(name, value)
        return response

    return add_headers


def _cors_middleware(allow_origin: str, allow_methods: str) -> Any:
    origins = [o.strip() for o in allow_origin.split(",") if o.strip()]
    patterns = [re.compile("^" + re.escape(o).replace(r"\*", ".*") + "$") for o in origins]
    methods = allow_methods or "GET,POST,HEAD"

    def allowed(origin: str) -> bool:
        return "*" in origins or any(p.match(origin) for p in patterns)

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is None or not allowed(origin):
            return await handler(request)
        headers = {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            headers.update(
                {
                    "Access-Control-Allow-Methods": methods,
                    "Access-Control-Allow-Headers": "X-Requested-With,Content-Type,Accept,Origin",
                    "Access-Control-Max-Age": "1800",
                }
            )
            return web.Response(status=200, headers=headers)
        response = await handler(request)
        response.headers.update(headers)
        return response

    return cors


def create_app(
    herder: Any,
    routes: list[Route],
    settings: RestSettings | None = None,
    *,
    allow_origin: str = "",
    allow_methods: str = "",
    response_headers: str = "",
    auth: BasicAuth | None = None,
) -> web.Application:
    """An aiohttp application serving ``routes`` for ``herder`` (behind basic authentication if ``auth``)."""
    middlewares: list[Any] = []
    if response_headers.strip():
        middlewares.append(_header_middleware(_header_rules(response_headers)))
    if allow_origin.strip():
        middlewares.append(_cors_middleware(allow_origin, allow_methods))
    if auth is not None:
        # After CORS, so that preflight requests are answered without credentials, as Kafka's filters do.
        middlewares.append(auth.middleware())
    middlewares.append(error_middleware)
    # A herder may add middlewares of its own (the distributed herder forwards requests to the leader); they run
    # inside the error middleware, so their errors get the usual JSON body.
    extra = getattr(herder, "rest_middlewares", None)
    if extra is not None:
        middlewares.extend(extra())
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY_BYTES)
    app[HERDER] = herder
    app[SETTINGS] = settings or RestSettings()
    app[ROUTES] = list(routes)
    app[root.METRICS] = new_registry(herder)
    for route in routes:
        # GET routes answer HEAD too, and a trailing slash is accepted, as the Java router does.
        paths = [route.path] if route.path == "/" else [route.path, route.path + "/"]
        for path in paths:
            if route.method == "GET":
                app.router.add_get(path, route.handler)
            else:
                app.router.add_route(route.method, path, route.handler)
    return app


# -- TLS -----------------------------------------------------------------------------------------------------


def _ssl_props(props: Mapping[str, Any], prefix: str) -> dict[str, str]:
    prefixed = {k[len(prefix):]: str(v) for k, v in props.items() if k.startswith(prefix) and v is not None}
    if prefixed:
        return prefixed
    return {k: str(v) for k, v in props.items() if k.startswith("ssl.") and v is not None}


def ssl_context(props: Mapping[str, Any], prefix: str = "listeners.https.") -> ssl.SSLContext:
    """A server TLS context from ``<prefix>ssl.*`` (else ``ssl.*``) settings; PEM key and trust stores."""
    cfg = _ssl_props(props, prefix)
    store_type = cfg.get("ssl.keystore.type", "JKS").upper()
    location = cfg.get("ssl.keystore.location")
    if store_type != "PEM" or not location:
        raise ConfigError(
            "HTTPS listeners need ssl.keystore.type=PEM and ssl.keystore.location (a PEM file with the private "
            "key and the certificate chain); JKS and PKCS12 key stores are not supported"
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(location, password=cfg.get("ssl.key.password") or cfg.get("ssl.keystore.password"))
    trust = cfg.get("ssl.truststore.location")
    if trust:
        context.load_verify_locations(cafile=trust)
    auth = cfg.get("ssl.client.auth", "none").lower()
    context.verify_mode = {"required": ssl.CERT_REQUIRED, "requested": ssl.CERT_OPTIONAL}.get(auth, ssl.CERT_NONE)
    return context


# -- the server ----------------------------------------------------------------------------------------------


@dataclass
class _Bound:
    listener: Listener
    sock: socket.socket
    admin: bool

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])


def _bind(listener: Listener) -> socket.socket:
    if listener.host:
        return socket.create_server((listener.host, listener.port), reuse_port=False)
    if socket.has_dualstack_ipv6():
        try:
            return socket.create_server(("", listener.port), family=socket.AF_INET6, dualstack_ipv6=True)
        except OSError:
            pass
    return socket.create_server(("0.0.0.0", listener.port))


def _local_address() -> str:
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


class RestServer:
    """The REST API on every configured listener (see the module docstring for the two phases)."""

    def __init__(self, config: RestConfig, settings: RestSettings | None = None) -> None:
        self.config = config
        self.settings = settings or RestSettings(
            topic_tracking=config.topic_tracking, topic_tracking_reset=config.topic_tracking_reset
        )
        self._bound: list[_Bound] = []
        self._runners: list[web.AppRunner] = []
        # Read now, so that a worker with unreadable credentials fails at startup, not on the first request.
        self.auth = BasicAuth.from_worker_props(config.props)

    def bind(self) -> None:
        """Bind every listener (``ConnectError`` if one cannot be bound)."""
        listeners = [(Listener.parse(text), False) for text in self.config.listeners]
        listeners += [(Listener.parse(text), True) for text in self.config.admin_listeners or []]
        try:
            for listener, admin in listeners:
                self._bound.append(_Bound(listener, _bind(listener), admin))
                log.info("Added %sconnector for %s://%s:%d", "admin " if admin else "", listener.scheme,
                         listener.host, listener.port)
        except OSError as exc:
            for bound in self._bound:
                bound.sock.close()
            self._bound = []
            raise ConnectError(f"Unable to initialize REST server: {exc}") from exc

    def _advertised_scheme(self) -> str:
        if self.config.advertised_listener:
            return self.config.advertised_listener.lower()
        raw = ",".join(self.config.listeners).lower()
        if "http://" in raw:
            return "http"
        return "https" if "https://" in raw else "http"

    def advertised_url(self) -> str:
        """``<scheme>://<host>:<port>/`` as other workers and clients should reach this one."""
        scheme = self._advertised_scheme()
        bound = next((b for b in self._bound if not b.admin and b.listener.scheme == scheme), None)
        host = self.config.advertised_host_name
        if not host:
            host = bound.listener.host if bound is not None and bound.listener.host else _local_address()
        port = self.config.advertised_port
        if port is None:
            if bound is None:
                port = 8083
            else:
                port = bound.listener.port if bound.listener.port > 0 else bound.port
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"{scheme}://{host}:{port}/"

    def worker_id(self) -> str:
        """``host:port`` of :meth:`advertised_url`, the worker id in statuses."""
        return self.advertised_url().split("://", 1)[1].rstrip("/")

    def ports(self) -> list[int]:
        """The bound ports of the main listeners, in listener order."""
        return [b.port for b in self._bound if not b.admin]

    def admin_ports(self) -> list[int]:
        """The bound ports of the admin listeners."""
        return [b.port for b in self._bound if b.admin]

    async def start(self, herder: Any) -> None:
        """Serve the API for ``herder`` on the bound listeners (binding them first if needed)."""
        if not self._bound:
            self.bind()
        admin = self.config.admin_listeners
        main_routes = [*root.ROUTES, *connectors.ROUTES, *plugins.ROUTES]
        if admin is None:
            main_routes += root.ADMIN_ROUTES
        apps = {False: self._app(herder, main_routes)}
        if admin:
            apps[True] = self._app(herder, root.ADMIN_ROUTES)
        access_log = logging.getLogger("kcfast.rest.access")
        for is_admin, app in apps.items():
            runner = web.AppRunner(app, access_log=access_log, handle_signals=False)
            await runner.setup()
            self._runners.append(runner)
            for bound in self._bound:
                if bound.admin != is_admin:
                    continue
                context = None
                if bound.listener.scheme == "https":
                    prefix = "admin.listeners.https." if is_admin else "listeners.https."
                    context = ssl_context(self.config.props, prefix)
                site = web.SockSite(runner, bound.sock, ssl_context=context)
                await site.start()
        log.info("REST server listening, advertising URL %s", self.advertised_url())

    def _app(self, herder: Any, routes: list[Route]) -> web.Application:
        return create_app(
            herder,
            routes,
            self.settings,
            allow_origin=self.config.allow_origin,
            allow_methods=self.config.allow_methods,
            response_headers=self.config.response_headers,
            auth=self.auth,
        )

    async def stop(self) -> None:
        """Stop serving and close the listeners."""
        for runner in self._runners:
            await runner.cleanup()
        self._runners = []
        for bound in self._bound:
            bound.sock.close()
        self._bound = []
        log.info("REST server stopped")


__all__ = ["Listener", "RestConfig", "RestServer", "all_routes", "create_app", "ssl_context"]
