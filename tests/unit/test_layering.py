"""The house matches its plan: app.py → handlers → services → domain, adapters behind the
services' ports, bootstrap wiring them. Read from the source with `ast`, so a new import that
breaks the plan fails here, not in a review.

Imports inside functions count for the layering (a lazy import is still a dependency), but not
for cycles: deferring an import is how a module breaks a cycle on purpose. Imports under
`if TYPE_CHECKING:` count for neither: they never run."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "chalicelib"

# Which layer may import which. A layer always may import itself.
ALLOWED = {
    "domain": set(),
    "services": {"domain"},
    "adapters": {"domain", "services.ports"},
    # The handlers are the HTTP edge: a gateway's webhook (its signature, its payload) is read
    # there by the gateway's own adapter before the message is handed to a service.
    "handlers": {"services", "domain", "bootstrap", "config", "observability", "sqs_batch",
                 "adapters.sms_gateways", "web", "open311"},
    # The residents' web pages: the HTTP edge too, beside the handlers, which read each request for
    # them and hand over. They render what the services answer and call the services the JSON
    # routes call (intake, look-ups): never an adapter, never the composition root (the handlers
    # pass its services in), never the handlers. Jinja2 and Babel are imported in here only.
    "web": {"services", "domain"},
    # Open311 GeoReport v2 (docs/open311.md): the HTTP edge for other programs, as the pages are for
    # residents. It maps and renders what the services answer and calls the services the JSON routes
    # call (intake, look-ups, the API keys): never an adapter, the composition root or the handlers.
    "open311": {"services", "domain"},
    # Shared by the handlers: the batch response and the log/metric set-up, no adapter.
    "sqs_batch": {"domain", "services"},
    "observability": {"services.telemetry"},
}
# What no product module imports at all: these frameworks stay behind adapters and the app.
FRAMEWORKS = ("boto3", "botocore", "pynamodb", "chalice", "moto")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))} | {"app": ROOT / "app.py"}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _resolve(module: str, node: ast.ImportFrom) -> list[str]:
    if node.level:
        package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    names = [f"{base}.{alias.name}" for alias in node.names]
    # `from package import module` imports the module; the package's own code is only its door.
    return names if all(name in MODULES for name in names) else [base] + names


def imports_of(module: str) -> list[tuple[str, bool]]:
    """(imported name, deferred) for every import of `module`; deferred: inside a function."""
    found: list[tuple[str, bool]] = []

    def visit(nodes: list[ast.stmt], deferred: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                visit(node.orelse, deferred)
                continue
            if isinstance(node, ast.Import):
                found.extend((alias.name, deferred) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                found.extend((name, deferred) for name in _resolve(module, node))
            inner = deferred or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            for field in ("body", "orelse", "handlers", "finalbody"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    visit([c for c in children if isinstance(c, ast.AST)], inner)

    visit(ast.parse(MODULES[module].read_text(encoding="utf-8")).body, False)
    return found


def _internal(name: str) -> str | None:
    """The project module an imported name lives in (a name may be a module or a member of one)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) < 2:
        return None
    return parts[1]


def _allows(allowed: set[str], target: str) -> bool:
    inside = target.split(".", 1)[1] if "." in target else target
    return any(inside == rule or inside.startswith(rule + ".") for rule in allowed)


LAYERED = [m for m in MODULES if layer_of(m) in ALLOWED]


@pytest.mark.parametrize("module", LAYERED)
def test_each_module_imports_only_the_layers_below_it(module):
    # GIVEN a module of a layer WHEN its imports are read THEN each is its own layer or one it may use
    layer = layer_of(module)
    wrong = sorted({target for name, _ in imports_of(module)
                    if (target := _internal(name)) and layer_of(target) != layer
                    and not _allows(ALLOWED[layer], target)})
    assert not wrong, f"{module} ({layer}) imports {wrong}"


@pytest.mark.parametrize("module", [m for m in LAYERED if layer_of(m) in ("domain", "services")])
def test_the_domain_and_services_import_no_aws_or_web_framework(module):
    used = sorted({name for name, _ in imports_of(module) if name.split(".")[0] in FRAMEWORKS})
    assert not used, f"{module} imports {used}: that belongs in an adapter"


@pytest.mark.parametrize("module", [m for m in LAYERED if layer_of(m) in ("web", "open311")])
def test_the_web_pages_import_no_aws_or_http_framework(module):
    # They return a Page; the handlers make it a Chalice Response.
    used = sorted({name for name, _ in imports_of(module) if name.split(".")[0] in FRAMEWORKS})
    assert not used, f"{module} imports {used}"


PAGE_LIBRARIES = ("jinja2", "babel")


def test_only_the_web_pages_import_the_template_engine_and_babel():
    # `import app` stays lean: tests/unit/test_web_i18n.py checks it in a fresh interpreter.
    users = sorted(m for m in MODULES if layer_of(m) != "web" and any(
        name.split(".")[0] in PAGE_LIBRARIES for name, _ in imports_of(m)))
    assert users == [], users
    assert any(name.split(".")[0] == "jinja2" for name, _ in imports_of("chalicelib.web.templates"))


def test_app_hands_every_route_and_event_to_the_handlers():
    # app.py is paid on every cold start: it declares routes and hands over, nothing more.
    used = sorted({target for name, _ in imports_of("app") if (target := _internal(name))})
    assert used == ["chalicelib.config", "chalicelib.handlers"]


def _module_graph() -> dict[str, set[str]]:
    return {module: {target for name, deferred in imports_of(module)
                     if not deferred and (target := _internal(name)) and target != module}
            for module in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def test_no_import_cycles():
    # A package importing its own submodules (to re-export them) is not a cycle of concerns.
    graph = {m: {t for t in targets if not (MODULES[m].name == "__init__.py" and t.startswith(m + "."))}
             for m, targets in _module_graph().items()}
    cycle = find_cycle(graph)
    assert cycle is None, " → ".join(cycle)


def test_the_checker_sees_a_cycle_and_a_layer_breach():
    # The checks above pass vacuously if the reading is broken: prove it on known shapes.
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert any(_internal(n) == "chalicelib.domain.case" for n, _ in imports_of("chalicelib.services.workflow"))
    assert not _allows(ALLOWED["domain"], "chalicelib.services.workflow")
    assert not _allows(ALLOWED["adapters"], "chalicelib.services.workflow")
    assert _allows(ALLOWED["adapters"], "chalicelib.services.ports")
