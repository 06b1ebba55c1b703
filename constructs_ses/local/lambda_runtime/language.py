"""What the local runtime needs of a language's runtime (``PythonRuntime``, ``NodeRuntime``): its
installation, the runtime's own packages, and how its runtime client starts. Everything else
(the Runtime API, sandbox, limits and logs) is the same for every language."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from constructs_ses.local.lambda_runtime.environment import Paths

__all__ = ["LanguageRuntime"]


class LanguageRuntime(Protocol):
    """A language's installation and its runtime's packages, as the local runtime starts them."""

    @property
    def name(self) -> str:
        """The Lambda runtime it is, such as ``python3.13`` or ``nodejs24.x``."""
        ...

    @property
    def version(self) -> str: ...

    @property
    def executable(self) -> Path: ...

    @property
    def prefix(self) -> Path:
        """The installation, shown as ``/var/lang`` in a sandbox."""
        ...

    @property
    def hidden(self) -> tuple[Path, ...]:
        """Parts of the installation the function never sees."""
        ...

    @property
    def packages(self) -> tuple[Path, ...]:
        """The runtime's packages, each shown in ``/var/runtime`` under its own name."""
        ...

    @property
    def packages_dir(self) -> Path | None:
        """A directory shown as ``/var/runtime`` instead of ``packages``."""
        ...

    @property
    def inline_file(self) -> str:
        """The file inline code is written to."""
        ...

    def command(self, interpreter: str, handler: str, paths: Paths) -> list[str]:
        """The command that starts the runtime client for ``handler``."""
        ...

    def interpreter_in(self, lang: str) -> str:
        """The interpreter's path when the installation is seen at ``lang``."""
        ...

    def host_lang(self, scratch: Path) -> Path:
        """The installation as a function outside a sandbox sees it."""
        ...

    def paths(self, base: Paths) -> Paths:
        """``base`` with the language's own variables (its module search path)."""
        ...
