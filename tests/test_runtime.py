"""The runtime: environment set before the backend starts, runtime recorded."""
import subprocess
import sys

import pytest

from clusterage_utils.engine.runtime import backend_name

pytestmark = pytest.mark.engine


def test_threads_and_onednn_are_set_before_the_backend_starts():
    key = "tf_threads" if backend_name() == "tensorflow" else "threads"
    code = ("from clusterage_utils.engine.runtime import prepare_environment, seed_everything, runtime_info; "
            "prepare_environment(1); seed_everything(0, threads=1); r = runtime_info(); "
            f"print(r['{key}'], r['onednn'], r['device'].split()[0], r['backend'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    threads, onednn, device, backend = out.stdout.split()
    assert threads == "1" and device in ("CPU", "GPU") and backend == backend_name()
    assert onednn in ("1", "0", "default")


def test_an_unknown_backend_is_named(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "numpy")
    with pytest.raises(ValueError, match="KERAS_BACKEND='numpy' is not supported"):
        backend_name()
