"""Copy the handler template into a project, to grow it there."""

from __future__ import annotations

import shutil
from pathlib import Path

from constructs_ses.package_files import HANDLER_MODULE_FILE, handler_template_directory

__all__ = ["new_handler"]


def new_handler(directory: str | Path, *, force: bool = False) -> Path:
    """Copy the packaged handler template to ``directory/handler.py`` and return its path.

    The directory is created when missing. An existing ``handler.py`` is kept unless ``force``;
    then FileExistsError is raised.
    """
    target_dir = Path(directory)
    target = target_dir / HANDLER_MODULE_FILE
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists; pass force=True (--force) to overwrite it")
    target_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(handler_template_directory() / HANDLER_MODULE_FILE, target)
    return target
