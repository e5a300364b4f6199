"""The TensorFlow runtime: environment set before import, runtime recorded."""
import subprocess
import sys


def test_threads_and_onednn_are_set_before_tensorflow_starts():
    code = ("from clusterage_utils.runtime import prepare_environment, seed_everything, runtime_info; "
            "prepare_environment(1); seed_everything(0, threads=1); r = runtime_info(); "
            "print(r['tf_threads'], r['onednn'], r['device'].split()[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    threads, onednn, device = out.stdout.split()
    assert threads == "1" and device in ("CPU", "GPU")
    assert onednn in ("1", "0", "default")
