"""A small Registry API v2 client: is the registry there, does it have a tag.

Plain HTTP for the hosts Docker itself treats as insecure by default (localhost, 127.0.0.0/8, ::1) and for
`*.local`; HTTPS for everything else. Credentials are read, never written, through Docker's own config file and
credential helpers (`docker login` puts them there) and used for the registry's Basic or Bearer-token challenge.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import docker.auth
import requests

from forge.errors import ForgeError
from forge.network import describe_error

# What a HEAD on a manifest accepts: Docker v2 schema 2 images and lists, and OCI images and indexes.
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)
DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Reference:
    """An image reference split the way the registry API needs it."""

    host: str  # "127.0.0.1:5000", "docker.io"
    repository: str  # "alice/qotm"; Docker Hub's official images get "library/"
    tag: str


def parse_reference(ref: str) -> Reference:
    """`127.0.0.1:5000/qotm:abc` -> Reference("127.0.0.1:5000", "qotm", "abc"); no tag means `latest`."""
    name, tag = ref, "latest"
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
    host, repository = docker.auth.split_repo_name(name)
    if host == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    return Reference(host, repository, tag)


def registry_host(registry: str) -> str:
    """The host[:port] part of a forge.yaml `registry` such as `localhost:5001` or `docker.io/alice`."""
    first = registry.split("/", 1)[0]
    if "." in first or ":" in first or first == "localhost" or "/" not in registry:
        return first
    return DOCKER_HUB  # "alice/team" style: a Docker Hub namespace


def registry_store(registry: str | None) -> Registry | None:
    """The registry of a forge.yaml `registry` value (None: no registry, images stay in the local engine)."""
    return Registry(registry_host(registry)) if registry else None


def is_insecure(host: str) -> bool:
    """True for the hosts reached over plain HTTP: localhost, loopback addresses and `*.local`."""
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    hostname = hostname.strip("[]").lower()
    if hostname == "localhost" or hostname.endswith(".local"):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


class Registry:
    """One registry host. Methods raise ForgeError naming the registry when it cannot be reached."""

    def __init__(self, host: str, *, timeout: float = 10, session: requests.Session | None = None):
        self.host = host
        api_host = DOCKER_HUB_API if host == DOCKER_HUB else host
        self.base_url = f"{'http' if is_insecure(host) else 'https'}://{api_host}"
        self.timeout = timeout
        self.session = session or requests.Session()
        self._tokens: dict[str, str] = {}  # scope -> bearer token

    def ping(self) -> None:
        """Check that the registry answers the v2 API (a 401 counts: it answers, and wants credentials)."""
        resp = self._request("GET", "/v2/", scope=None)
        if resp.status_code not in (200, 401):
            raise ForgeError(f"registry {self.host} does not speak the v2 API: GET /v2/ answered {resp.status_code}")

    def has_manifest(self, repository: str, tag: str) -> bool:
        """True when `repository:tag` exists in the registry."""
        resp = self._request("HEAD", f"/v2/{repository}/manifests/{tag}", scope=f"repository:{repository}:pull",
                             headers={"Accept": MANIFEST_TYPES})
        if resp.status_code == 200:
            return True
        if resp.status_code == 404:
            return False
        if resp.status_code in (401, 403):
            raise ForgeError(f"registry {self.host}: access to {repository} denied: HTTP {resp.status_code}",
                             hint=f"run `docker login {self.host}`")
        raise ForgeError(f"registry {self.host}: HEAD {repository}:{tag} answered {resp.status_code}")

    def has_image(self, ref: str) -> bool:
        parsed = parse_reference(ref)
        return self.has_manifest(parsed.repository, parsed.tag)

    def _request(self, method: str, path: str, *, scope: str | None,
                 headers: dict[str, str] | None = None) -> requests.Response:
        headers = dict(headers or {})
        token = self._tokens.get(scope or "")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        resp = self._send(method, path, headers)
        if resp.status_code == 401 and "Authorization" not in headers:
            auth = self._authorize(resp.headers.get("WWW-Authenticate", ""), scope)
            if auth:
                resp = self._send(method, path, {**headers, "Authorization": auth})
        return resp

    def _send(self, method: str, path: str, headers: dict[str, str]) -> requests.Response:
        try:
            return self.session.request(method, self.base_url + path, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ForgeError(f"registry {self.host} is unreachable: {describe_error(exc)}", detail=str(exc)) from exc

    def _authorize(self, challenge: str, scope: str | None) -> str | None:
        """Answer a 401 challenge with Docker's stored credentials: an Authorization header value, or None."""
        scheme, _, params_text = challenge.partition(" ")
        params = dict(_CHALLENGE_PARAM.findall(params_text))
        creds = self._credentials()
        if scheme.lower() == "basic":
            if not creds.get("username"):
                return None
            return requests.auth._basic_auth_str(creds["username"], creds.get("password", ""))
        if scheme.lower() != "bearer" or "realm" not in params:
            return None
        token = self._fetch_token(params, scope or params.get("scope"), creds)
        self._tokens[scope or ""] = token
        return f"Bearer {token}"

    def _fetch_token(self, params: dict[str, str], scope: str | None, creds: dict[str, str]) -> str:
        query = {k: v for k, v in (("service", params.get("service")), ("scope", scope)) if v}
        try:
            if creds.get("identitytoken"):  # OAuth2 refresh-token grant, as `docker login` stores for some hosts
                resp = self.session.post(params["realm"], timeout=self.timeout, data={
                    **query, "grant_type": "refresh_token", "refresh_token": creds["identitytoken"],
                    "client_id": "forge"})
            else:
                auth = (creds["username"], creds.get("password", "")) if creds.get("username") else None
                resp = self.session.get(params["realm"], params=query, auth=auth, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ForgeError(f"registry {self.host}: token service {params['realm']} is unreachable: "
                             f"{describe_error(exc)}") from exc
        if resp.status_code != 200:
            raise ForgeError(f"registry {self.host}: token service refused the credentials: HTTP {resp.status_code}",
                             hint=f"run `docker login {self.host}`")
        body = resp.json()
        return body.get("token") or body.get("access_token") or ""

    def _credentials(self) -> dict[str, str]:
        """Username/password or identity token for this host from Docker's config, keys lower-cased."""
        import docker.auth
        import docker.errors

        try:
            config = docker.auth.load_config()
            found = docker.auth.resolve_authconfig(config, self.host) or {}
        except docker.errors.DockerException as exc:
            raise ForgeError(f"registry {self.host}: cannot read Docker's credentials: {exc}") from exc
        return {k.lower(): v for k, v in found.items() if isinstance(v, str)}
