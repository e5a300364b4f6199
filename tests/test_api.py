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


def test_analysis_modules_do_not_import_the_build():
    """One direction only: the build uses the chapters, the chapters never use the build."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "clusterage_utils"
    for path in list((root / "chapters").glob("*.py")) + [root / "study.py", root / "metrics.py", root / "page.py"]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.endswith(("build", "cost", "cli")), (path.name, node.module)


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
