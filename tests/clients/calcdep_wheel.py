"""Writes a wheel of `calcdep` (a `twice` function, and its `VERSION`) into DIR/calcdep/,
as a package index serves it: `python3 calcdep_wheel.py DIR [VERSION]` (1.0 by default). The client
tests' and server/tests/toolchain.rs's verifications install it from there."""

import base64
import hashlib
import sys
import zipfile
from pathlib import Path


def main(folder: Path, version: str) -> Path:
    info = f"calcdep-{version}.dist-info"
    files = {
        "calcdep/__init__.py": f"VERSION = {version!r}\n\n\ndef twice(a):\n    return 2 * a\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: calcdep\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: codecontext-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    out = folder / "calcdep"
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"calcdep-{version}-py3-none-any.whl"
    lines = []
    with zipfile.ZipFile(wheel, "w") as z:
        for name, text in files.items():
            data = text.encode()
            z.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            lines.append(f"{name},sha256={digest},{len(data)}")
        lines.append(f"{info}/RECORD,,")
        z.writestr(f"{info}/RECORD", "\n".join(lines) + "\n")
    return wheel


if __name__ == "__main__":
    print(main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "1.0"))
