"""The package's public API: importable from the package, documented, and light (no TensorFlow at import)."""
import inspect
import subprocess
import sys


def test_public_names_import_without_tensorflow():
    code = ("import sys; from clusterage_utils import open_cutouts, Experiment, run_experiments, ResultsStore, "
            "get_profile, page_context, study_predictions, health_report, build_book; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_every_public_name_is_documented_and_listed():
    import clusterage_utils as cu

    for name in cu._API:
        obj = getattr(cu, name)
        assert name in cu.__all__
        if callable(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"
    assert "open_cutouts" in dir(cu)


def test_every_module_declares_all():
    import importlib
    import pkgutil

    import clusterage_utils

    for m in pkgutil.walk_packages(clusterage_utils.__path__, "clusterage_utils."):
        if m.name.rsplit(".", 1)[-1].startswith("_") or m.name.endswith(".cli"):
            continue
        mod = importlib.import_module(m.name)
        assert hasattr(mod, "__all__") or m.ispkg, f"{m.name} has no __all__"


#: The package's layers, bottom up: a module imports only from its own layer and the ones below.
LAYERS = ("shared", "survey", "engine", "analysis", "book", "cli")


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    return "cli" if parts[-1] == "cli" else "shared"


def test_every_layer_imports_only_from_below():
    """survey < engine < analysis < book < the CLI, with the shared modules (constants, sweeps, metrics, paths)
    at the bottom: read from every module's imports (lazy ones inside functions included)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "clusterage_utils"
    layers = {f"{name}": i for i, name in enumerate(LAYERS)}
    up = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root.parent).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        package = module if rel.name == "__init__" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            base = package.split(".")[:len(package.split(".")) - node.level + 1]
            targets = [".".join(base + [node.module])] if node.module else [".".join(base + [a.name]) for a in
                                                                             node.names]
            for target in targets:
                if layers[_layer(target)] > layers[_layer(module)]:
                    up.append(f"{module} -> {target}")
    assert not up, up
    assert _layer("clusterage_utils.engine.training") == "engine" and _layer("clusterage_utils.sweeps") == "shared"


def test_publish_workflow_passes_githubs_schema():
    """The GitHub Pages workflow cannot run here; it is validated offline against GitHub's workflow schema."""
    import shutil
    from pathlib import Path

    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    assert exe, "check-jsonschema is a test dependency (pip install -e '.[test]')"
    wf = Path(__file__).resolve().parent.parent / ".github" / "workflows" / "publish-book.yml"
    out = subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", str(wf)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_importing_the_package_changes_nothing_in_the_process():
    """No side effects on import: the entry points prepare TensorFlow's environment, not ``import``."""
    code = ("import os, warnings; env = dict(os.environ); filters = list(warnings.filters); import clusterage_utils; "
            "print(dict(os.environ) == env, list(warnings.filters) == filters)")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("TF_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "True True"
