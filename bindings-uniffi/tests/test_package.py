"""The package itself: fast import, types shipped, docstrings on public names."""

import subprocess
import sys

import polargrid_core


def test_import_loads_neither_httpx_nor_the_native_library():
    code = "import sys, polargrid_core; print('httpx' in sys.modules, 'polargrid_core._native' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_package_ships_py_typed_and_documents_every_public_name():
    from pathlib import Path
    assert (Path(polargrid_core.__file__).parent / "py.typed").exists()
    for name in polargrid_core.__all__:
        obj = getattr(polargrid_core, name)
        if callable(obj):
            assert obj.__doc__, name
