"""Lambda's Python runtimes as the local runtime starts them: AWS's runtime interface client
(``awslambdaric``), run as Lambda's Python runtimes run it (``python -m awslambdaric
module.function``, working directory the task root), by an interpreter of this machine without
its site-packages, beside the runtime's own libraries: boto3, botocore and their dependencies.

Those libraries are the ones installed with this package (its ``local`` extra pins them), taken
from their own distributions, never the rest of the environment they were installed in; or a
directory given as ``runtime_packages`` (made with ``pythonX.Y -m pip install --target DIR
awslambdaric boto3==...``), for another boto3 or another Python.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from constructs_ses.local.lambda_runtime.environment import Paths

__all__ = ["RUNTIME_DISTRIBUTIONS", "PythonRuntime"]

RUNTIME_DISTRIBUTIONS = ("awslambdaric", "boto3")
"""What Lambda's Python runtimes provide beside the standard library, with what they require."""
_PROBE = """
import json, site, sys, sysconfig
base = {"base": sys.base_prefix, "platbase": sys.base_prefix}
found = {sysconfig.get_path(kind, vars=base) for kind in ("purelib", "platlib")}
found.update(site.getsitepackages([sys.base_prefix]))
print(json.dumps({
    "version": "%d.%d" % sys.version_info[:2],
    "executable": sys._base_executable,
    "prefix": sys.base_prefix,
    "site": sorted(p for p in found if p.startswith(sys.base_prefix)),
}))
"""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class PythonRuntime:
    """An interpreter and the runtime's libraries for it.

    Made by ``find``.
    """

    version: str
    """``3.11``."""
    executable: Path
    """The interpreter of the installation (not of a virtual environment)."""
    prefix: Path
    """Its installation's prefix (what a sandbox shows as ``/var/lang``)."""
    hidden: tuple[Path, ...]
    """Its installation's own site-packages, which the function never sees."""
    packages: tuple[Path, ...]
    """The runtime's libraries: each a module, package or extension of them."""
    packages_dir: Path | None = None
    """A directory of them (``runtime_packages``) instead of ``packages``."""
    inline_file = "index.py"
    """Where inline code (``Code.ZipFile``) is written ("AWS::Lambda::Function Code")."""

    @property
    def name(self) -> str:
        """The Lambda runtime it is, such as ``python3.13``."""
        return f"python{self.version}"

    @classmethod
    def find(cls, python: str | None = None, runtime_packages: Path | None = None) -> PythonRuntime:
        """The runtime for interpreter ``python`` (default: this one), with the libraries in
        ``runtime_packages`` (default: the ones installed with this package)."""
        probe = _probe(python)
        if runtime_packages is not None:
            if not (runtime_packages / "awslambdaric").is_dir():
                raise ValueError(
                    f"runtime_packages={str(runtime_packages)!r} holds no awslambdaric: make it "
                    f"with python{probe['version']} -m pip install --target DIR awslambdaric boto3"
                )
            packages: tuple[Path, ...] = ()
        else:
            here = f"{sys.version_info.major}.{sys.version_info.minor}"
            if probe["version"] != here:
                raise ValueError(
                    f"python={python!r} is Python {probe['version']}, and the runtime's "
                    f"libraries installed here are for Python {here}: give runtime_packages "
                    f"a directory made with python{probe['version']} -m pip install --target "
                    "DIR awslambdaric boto3"
                )
            packages = installed_packages(RUNTIME_DISTRIBUTIONS)
        return cls(
            version=str(probe["version"]),
            executable=Path(os.path.realpath(str(probe["executable"]))),
            prefix=Path(os.path.realpath(str(probe["prefix"]))),
            hidden=tuple(Path(str(p)) for p in _listed(probe["site"])),
            packages=packages,
            packages_dir=runtime_packages,
        )

    def command(self, interpreter: str, handler: str, paths: Paths) -> list[str]:
        """How Lambda's Python runtimes start the runtime client for ``handler``."""
        return [interpreter, "-m", "awslambdaric", handler]

    def interpreter_in(self, lang: str) -> str:
        """The interpreter's path when its installation is seen at ``lang``."""
        return f"{lang}/{self.executable.relative_to(self.prefix)}"

    def host_lang(self, scratch: Path) -> Path:
        """The installation as a function outside a sandbox sees it: a virtual environment of
        it with nothing installed, so the function never sees its site-packages (made once, in
        ``scratch``)."""
        where = scratch / "lang"
        config = where / "pyvenv.cfg"
        if not config.exists():
            link = where / self.executable.relative_to(self.prefix)
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(self.executable)
            config.write_text(
                f"home = {self.executable.parent}\ninclude-system-site-packages = false\n"
                f"version = {self.version}\n"
            )
        return where

    def paths(self, base: Paths) -> Paths:
        """``base`` with Python's search path: the layers' ``python`` directories, then the
        runtime's libraries ("Working with layers for Python Lambda functions")."""
        search = [
            f"{base.opt}/python/lib/python{self.version}/site-packages",
            f"{base.opt}/python",
            base.runtime_dir,
        ]
        return replace(base, language_variables=(("PYTHONPATH", ":".join(search)),))


@functools.lru_cache(maxsize=8)
def _probe(python: str | None) -> dict[str, object]:
    """What the interpreter ``python`` (None: this one) is: asked once per process."""
    python = python or sys.executable
    try:
        ran = subprocess.run(
            [python, "-I", "-c", _PROBE], capture_output=True, text=True, check=False, timeout=30
        )
    except OSError as error:
        raise ValueError(f"python={python!r} does not run: {error}") from None
    if ran.returncode != 0:
        why = ran.stderr.strip().splitlines()[-1:] or [f"exit status {ran.returncode}"]
        raise ValueError(f"python={python!r} does not run: {why[0]}")
    try:
        probed: dict[str, object] = json.loads(ran.stdout)
    except ValueError:
        raise ValueError(
            f"python={python!r} does not run Python: asked for its version, it printed "
            f"{ran.stdout.strip()[:80]!r}"
        ) from None
    return probed


def _listed(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def installed_packages(names: tuple[str, ...]) -> tuple[Path, ...]:
    """The top-level modules and packages of distributions ``names`` and of every distribution
    they require, as installed here (LookupError naming one that is not)."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    pending = list(names)
    while pending:
        name = pending.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise LookupError(
                f"{name} is not installed: the local Lambda runtime needs it (pip install "
                "'constructs-ses[local]')"
            ) from None
        seen[key] = distribution
        for requirement in distribution.requires or ():
            if "extra ==" not in requirement and (found := _NAME.match(requirement)):
                pending.append(found.group())
    tops: set[Path] = set()
    for distribution in seen.values():
        for file in distribution.files or ():
            top = file.parts[0]
            if top in ("..", "__pycache__") or top.endswith((".dist-info", ".egg-info")):
                continue
            tops.add(Path(str(distribution.locate_file(top))))
    return tuple(sorted(tops))
