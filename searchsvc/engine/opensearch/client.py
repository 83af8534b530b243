"""A connection to the cluster from settings, with every failure as one clear exception.

Every call has a bounded timeout and is retried once on another node; what
still fails becomes EngineUnavailable (the cluster cannot answer: 503) or
store.IndexMissing / IndexIncompatible (there is no usable index), each with a
message that says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from opensearchpy import OpenSearch
from opensearchpy import exceptions as errors

from searchsvc.model.errors import EngineUnavailable, IndexMissing

DEFAULT_INDEX = "searchsvc"
DEFAULT_TIMEOUT = 10.0  # seconds for one call, retry included
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True)
class ClusterSettings:
    urls: tuple[str, ...]
    index: str = DEFAULT_INDEX  # the alias readers use; generations are <index>-g<N>
    user: str = ""
    password: str = ""
    ca_certs: str = ""  # a CA bundle for https clusters with their own CA
    verify_certs: bool = True
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_config(cls, config: Mapping | None = None, environ: Mapping | None = None):
        """From `config` keys opensearch_* when present, else SEARCHSVC_OPENSEARCH_* variables."""
        config, environ = config or {}, os.environ if environ is None else environ

        def get(name: str, default=""):
            value = config.get("opensearch_" + name)
            if value is None:
                value = environ.get("SEARCHSVC_OPENSEARCH_" + name.upper(), default)
            return value

        urls = parse_urls(get("url"))
        index = str(get("index", DEFAULT_INDEX)).strip() or DEFAULT_INDEX
        check_index_name(index)
        verify = str(get("verify_certs", "true")).strip().lower() not in ("0", "false", "no")
        try:
            timeout = float(get("timeout", DEFAULT_TIMEOUT))
        except ValueError:
            raise ValueError("SEARCHSVC_OPENSEARCH_TIMEOUT must be a number of seconds") from None
        if timeout <= 0:
            raise ValueError("SEARCHSVC_OPENSEARCH_TIMEOUT must be above 0")
        return cls(urls, index, str(get("user")), str(get("password")), str(get("ca_certs")),
                   verify, timeout)  # fmt: skip

    @property
    def where(self) -> str:
        return ", ".join(self.urls)


def parse_urls(raw) -> tuple[str, ...]:
    """One or more node URLs, comma-separated; raises ValueError naming a bad one."""
    parts = raw if isinstance(raw, (list, tuple)) else str(raw or "").split(",")
    urls = tuple(str(part).strip().rstrip("/") for part in parts if str(part).strip())
    if not urls:
        raise ValueError(
            "SEARCHSVC_OPENSEARCH_URL is not set: give one or more node URLs, comma-separated "
            "(`make opensearch` starts a local cluster)"
        )
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http:// or https:// node URL")
    return urls


def check_index_name(name: str) -> None:
    """OpenSearch's rules for index names, checked before anything is sent."""
    if not set(name) <= _NAME_CHARS or name[0] in "-_" or len(name) > 200:
        raise ValueError(
            f"{name!r} cannot name an OpenSearch index: use lower-case letters, digits, "
            "'-' and '_', not first"
        )


def connect(settings: ClusterSettings) -> OpenSearch:
    """A client over every node: calls go round them, and a failed one is retried once."""
    auth = (settings.user, settings.password) if settings.user else None
    options = {}
    if any(url.startswith("https") for url in settings.urls):
        options = {"verify_certs": settings.verify_certs, "ssl_show_warn": False}
        if settings.ca_certs:
            options["ca_certs"] = settings.ca_certs
    return OpenSearch(
        list(settings.urls),
        http_auth=auth,
        timeout=settings.timeout,
        max_retries=1,
        retry_on_timeout=True,
        # A node that failed is skipped for a while, not forever: it may come back.
        dead_timeout=5,
        **options,
    )


def explain(error: Exception, settings: ClusterSettings) -> Exception:
    """The exception to raise for a client error: EngineUnavailable or IndexMissing, or
    `error` itself when it is a bug of ours (a malformed request)."""
    where = settings.where
    if isinstance(error, errors.ConnectionTimeout):
        return EngineUnavailable(
            f"the OpenSearch cluster at {where} did not answer within {settings.timeout:g} s"
        )
    if isinstance(error, errors.SerializationError):
        return EngineUnavailable(f"{where} does not answer as an OpenSearch node does")
    if isinstance(error, errors.SSLError):
        return EngineUnavailable(
            f"TLS to the OpenSearch cluster at {where} failed: {_reason(error)}"
        )
    if isinstance(error, errors.ConnectionError):
        return EngineUnavailable(
            f"cannot reach the OpenSearch cluster at {where}: {_reason(error)}"
        )
    if isinstance(error, errors.AuthenticationException):
        return EngineUnavailable(
            f"the OpenSearch cluster at {where} refused the credentials "
            "(SEARCHSVC_OPENSEARCH_USER / SEARCHSVC_OPENSEARCH_PASSWORD)"
        )
    if isinstance(error, errors.AuthorizationException):
        return EngineUnavailable(
            f"the OpenSearch user may not do this on {settings.index!r} at {where}"
        )
    if isinstance(error, errors.NotFoundError):
        if _kind(error) in ("index_not_found_exception", ""):
            return IndexMissing(
                f"no index {settings.index!r} on the OpenSearch cluster at {where}; "
                "run `searchsvc reindex` first"
            )
        # search_context_missing_exception: a node restarted under a running search.
        return EngineUnavailable(
            f"the OpenSearch cluster at {where} lost a search ({_kind(error)})"
        )
    if isinstance(error, errors.TransportError) and _status(error) in (429, 500, 502, 503, 504):
        return EngineUnavailable(
            f"the OpenSearch cluster at {where} cannot answer now "
            f"({_status(error)} {_kind(error) or _reason(error)})"
        )
    return error


def _status(error: errors.TransportError) -> int:
    status = error.status_code
    return status if isinstance(status, int) else 0


def _kind(error: errors.TransportError) -> str:
    info = error.info if isinstance(error.info, dict) else {}
    cause = info.get("error")
    return cause.get("type", "") if isinstance(cause, dict) else ""


_CONNECTION_FAILURES = {  # what urllib3 says -> what the operator needs to read
    "Connection refused": "connection refused",
    "Name or service not known": "unknown host name",
    "No route to host": "no route to host",
    "timed out": "timed out",
    "CERTIFICATE_VERIFY_FAILED": "its TLS certificate is not trusted (see opensearch_ca_certs)",
}


def _reason(error: Exception) -> str:
    info = getattr(error, "info", None)
    text = str(info) if isinstance(info, Exception) else str(error)
    for found, reason in _CONNECTION_FAILURES.items():
        if found in text:
            return reason
    return " ".join(text.split())[:300]


class Cluster:
    """A client and its settings; `call` runs one API call with the errors explained."""

    def __init__(self, settings: ClusterSettings, client: OpenSearch | None = None):
        self.settings = settings
        self.client = client or connect(settings)

    def call(self, method: str, **kwargs):
        """`call("indices.create", index=...)` -> client.indices.create(index=...)."""
        target = self.client
        for part in method.split("."):
            target = getattr(target, part)
        try:
            answer = target(**kwargs)
        except errors.OpenSearchException as error:
            raise explain(error, self.settings) from error
        if not isinstance(answer, (dict, bool)):
            raise EngineUnavailable(
                f"{self.settings.where} does not answer as an OpenSearch node does"
            )
        return answer

    def check(self) -> dict:
        """The cluster's own description; raises EngineUnavailable if what answers at the URLs
        is not an OpenSearch cluster. (A red index fails its searches with EngineUnavailable:
        another index being red is no reason to refuse ours.)"""
        info = self.call("info")
        version = info.get("version") if isinstance(info, dict) else None
        if not isinstance(version, dict) or version.get("distribution") != "opensearch":
            raise EngineUnavailable(f"{self.settings.where} is not an OpenSearch cluster")
        return info
