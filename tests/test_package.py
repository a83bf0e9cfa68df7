"""The package as pip installs it (the Dockerfile runs ``pip install .``) holds every file the
app serves: the playground, the API docs' pages and the vendored front-end libraries."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_every_served_file(tmp_path: Path) -> None:
    """Every file under app/web (no Python, served as static files) is in the built wheel."""
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run(
        [*build, "--wheel-dir", str(tmp_path), str(ROOT)], check=True, capture_output=True
    )
    [wheel] = tmp_path.glob("backprop_api-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    served = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "app" / "web").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert len(served) > 50  # the page's modules and the vendored libraries
    assert [name for name in served if name not in names] == []
    assert "app/web/page/index.html" in names
