"""Guards against a Qt binding that corrupts the interpreter.

PySide6 6.12.0 on CPython 3.11 drops one reference to True on every Python-side signal emit;
after a few thousand the process aborts. pyproject pins below it; this test fails loudly if an
upgrade brings such a build back (it runs in a subprocess, so the abort cannot kill pytest).
"""

import subprocess
import sys

CODE = """
import sys
from PySide6.QtCore import QObject, Signal

class Emitter(QObject):
    fired = Signal()

emitter = Emitter()
emitter.fired.connect(lambda: None)
before = sys.getrefcount(True), sys.getrefcount(None)
for _ in range(20000):
    emitter.fired.emit()
after = sys.getrefcount(True), sys.getrefcount(None)
print(after[0] - before[0], after[1] - before[1])
"""


def test_signal_emits_do_not_leak_interpreter_references():
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-500:]
    leaked_true, leaked_none = (int(x) for x in result.stdout.split())
    assert abs(leaked_true) < 100 and abs(leaked_none) < 100
