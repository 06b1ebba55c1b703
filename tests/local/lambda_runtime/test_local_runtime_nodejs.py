"""Node.js functions run under AWS's runtime interface client for Node.js (``aws-lambda-ric``)
against the local Runtime API: what they answer, log and raise is the client's own ("Building
Lambda functions with Node.js", AWS Lambda Developer Guide), and what they see is what Lambda's
Node.js runtimes give them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from constructs_ses.local.lambda_runtime.function import FunctionSpec
from constructs_ses.local.lambda_runtime.nodejs import SPEC_DIR, NodeRuntime, install
from constructs_ses.local.lambda_runtime.runtime import LambdaRuntime

REGION, ACCOUNT = "eu-west-1", "123456789012"
ASYNC = """
exports.handler = async (event, context) => {
  console.log("got %s for", event.n, context.functionName);
  console.warn("careful");
  return { disposition: "STOP_RULE", n: event.n, memory: context.memoryLimitInMB };
};
"""


def nodejs(
    code_dir: Path,
    handler: str = "index.handler",
    *,
    runtime: str = "nodejs24.x",
    timeout: float = 5.0,
    reserved: int | None = None,
    **environment: str,
) -> FunctionSpec:
    name = f"Mail-Node{code_dir.name}"
    return FunctionSpec(
        name=name,
        arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        code_dir=code_dir,
        inline_code=None,
        handler=handler,
        timeout=timeout,
        environment=environment,
        runtime=runtime,
        reserved_concurrency=reserved,
    )


def code(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    where = tmp_path / name
    where.mkdir()
    for file, text in files.items():
        (where / file).parent.mkdir(parents=True, exist_ok=True)
        (where / file).write_text(text)
    return where


@pytest.fixture(params=["sandboxed", "unsandboxed"])
def either(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LambdaRuntime]:
    """Each way functions run: in a sandbox, and as plain processes."""
    lambda_runtime = LambdaRuntime(tmp_path / request.param, sandbox=request.param == "sandboxed")
    yield lambda_runtime
    lambda_runtime.close()


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LambdaRuntime]:
    lambda_runtime = LambdaRuntime(tmp_path / "runtime")
    yield lambda_runtime
    lambda_runtime.close()


def test_an_async_handler_answers_and_logs_as_lambda_does(
    either: LambdaRuntime, tmp_path: Path
) -> None:
    """The answer is the resolved value; console output is the client's log lines ("Log and
    monitor Node.js Lambda functions": time, request id, level, message), between START and
    END; the context's memory limit is the function's."""
    function = nodejs(code(tmp_path, "async", {"index.js": ASYNC}))
    result = either.invoke(function, {"n": 7})
    assert result.error is None, result.logs
    assert result.answer == {"disposition": "STOP_RULE", "n": 7, "memory": "128"}
    lines = result.output.splitlines()
    assert lines[0].endswith(f"\t{result.request_id}\tINFO\tgot 7 for {function.name}")
    assert lines[1].endswith(f"\t{result.request_id}\tWARN\tcareful")
    assert result.logs.startswith(f"START RequestId: {result.request_id} Version: $LATEST")
    assert result.report is not None and result.report.init_ms is not None


def test_an_exception_is_the_node_clients_error_payload(
    either: LambdaRuntime, tmp_path: Path
) -> None:
    """The Node.js client's error payload: ``errorType``, ``errorMessage`` and ``trace``
    (not Python's ``stackTrace``), and an ``Invoke Error`` log line."""
    handler = (
        "class MailError extends Error { constructor(m) { super(m); this.name = 'MailError'; } }\n"
        "exports.handler = async (event) => { throw new MailError('no mailbox ' + event.to); };\n"
    )
    result = either.invoke(nodejs(code(tmp_path, "throws", {"index.js": handler})), {"to": "x"})
    assert result.error == "MailError: no mailbox x"
    assert result.error_type == "MailError"
    assert result.error_payload is not None
    assert set(result.error_payload) == {"errorType", "errorMessage", "trace"}
    assert result.error_payload["trace"][0] == "MailError: no mailbox x"
    assert "\tERROR\tInvoke Error \t" in result.output


def test_es_modules_and_commonjs_find_the_sdk_the_runtime_includes(
    runtime: LambdaRuntime, tmp_path: Path
) -> None:
    """Lambda's Node.js runtimes include the AWS SDK for JavaScript v3, found by CommonJS
    ``require`` (``NODE_PATH``) and by ES module ``import`` alike."""
    module = (
        'import { S3Client } from "@aws-sdk/client-s3";\n'
        "export const handler = async () => ({ region: await new S3Client({}).config.region() });\n"
    )
    common = 'const { SESClient } = require("@aws-sdk/client-ses");\n'
    common += "exports.handler = async () => ({ ses: typeof SESClient });\n"
    imported = runtime.invoke(nodejs(code(tmp_path, "esm", {"index.mjs": module})), {})
    assert imported.error is None, imported.logs
    assert imported.answer == {"region": REGION}
    required = runtime.invoke(nodejs(code(tmp_path, "cjs", {"index.js": common})), {})
    assert required.answer == {"ses": "function"}, required.logs


def test_every_sdk_package_the_runtime_pins_is_found(
    runtime: LambdaRuntime, tmp_path: Path
) -> None:
    """Each SDK package of the runtime's ``package.json`` (the README lists them) resolves
    from a function's code."""
    pinned = json.loads((SPEC_DIR / "package.json").read_text())["dependencies"]
    names = [name for name in pinned if name.startswith("@aws-sdk/")]
    handler = (
        "const missing = (name) => { try { require.resolve(name); return false; } "
        "catch { return true; } };\n"
        "exports.handler = async (event) => event.names.filter(missing);\n"
    )
    result = runtime.invoke(nodejs(code(tmp_path, "sdk", {"index.js": handler})), {"names": names})
    assert len(names) >= 15 and result.answer == [], result.logs


def test_a_package_the_asset_lacks_cannot_be_imported(
    runtime: LambdaRuntime, tmp_path: Path
) -> None:
    """Only the runtime's packages and the asset's own: anything else is
    ``Runtime.ImportModuleError`` ("Cannot find module"), as in Lambda."""
    handler = 'const x = require("left-pad");\nexports.handler = async () => x;\n'
    result = runtime.invoke(nodejs(code(tmp_path, "lacks", {"index.js": handler})), {})
    assert result.error_type == "Runtime.ImportModuleError"
    assert "Cannot find module 'left-pad'" in str(result.error)


@pytest.mark.parametrize(
    ("files", "handler", "error_type"),
    [
        (
            {"index.js": "exports.handler = async () => {;\n"},
            "index.handler",
            "Runtime.UserCodeSyntaxError",
        ),
        (
            {"index.js": "exports.other = async () => 1;\n"},
            "index.handler",
            "Runtime.HandlerNotFound",
        ),
        (
            {"index.js": "exports.handler = async () => 1;\n"},
            "index",
            "Runtime.MalformedHandlerName",
        ),
        ({"sub/mod.js": "exports.go = async () => 1;\n"}, "sub/mod.go", None),
    ],
    ids=["syntax-error", "handler-not-found", "malformed-name", "handler-in-a-subdirectory"],
)
def test_init_errors_and_handler_names_are_the_clients(
    runtime: LambdaRuntime,
    tmp_path: Path,
    files: dict[str, str],
    handler: str,
    error_type: str | None,
) -> None:
    result = runtime.invoke(nodejs(code(tmp_path, "init", files), handler), {})
    assert result.error_type == error_type, result.logs
    if error_type is None:
        assert result.answer == 1


CALLBACK = """
exports.handler = (event, context, callback) => {
  console.log("called back for", event.n);
  if (event.fail) {
    callback(new TypeError(`no ${event.n}`));
  } else {
    setTimeout(() => callback(null, { disposition: "CONTINUE", n: event.n }), 10);
  }
};
"""


def test_callback_handlers_are_refused_on_node_24(runtime: LambdaRuntime, tmp_path: Path) -> None:
    """Lambda removed callback handlers in its Node.js 24 runtime, and AWS's client refuses
    them at init (``Runtime.CallbackHandlerDeprecated``: "Define Lambda function handler in
    Node.js")."""
    result = runtime.invoke(nodejs(code(tmp_path, "callback", {"index.js": CALLBACK})), {})
    assert result.error_type == "Runtime.CallbackHandlerDeprecated"
    assert "starting with Node.js 24" in str(result.error)


@pytest.mark.parametrize("lambda_runtime", ["nodejs22.x", "nodejs20.x"])
def test_callback_handlers_run_on_node_22_and_older(
    either: LambdaRuntime, tmp_path: Path, lambda_runtime: str
) -> None:
    """Lambda's Node.js 22 and older runtimes still run callback handlers; their client,
    aws-lambda-ric 3, answers with what the callback is given, and an error given to it is
    the function's error payload."""
    function = nodejs(code(tmp_path, "callback", {"index.js": CALLBACK}), runtime=lambda_runtime)
    answered = either.invoke(function, {"n": 4})
    assert answered.error is None, answered.logs
    assert answered.answer == {"disposition": "CONTINUE", "n": 4}
    assert "\tINFO\tcalled back for 4" in answered.logs
    failed = either.invoke(function, {"n": 5, "fail": True})
    assert failed.error_payload is not None, failed.logs
    assert failed.error_payload["errorType"] == "TypeError"
    assert failed.error_payload["errorMessage"] == "no 5"
    assert isinstance(failed.error_payload["trace"], list)


def test_a_timeout_ends_the_environment(runtime: LambdaRuntime, tmp_path: Path) -> None:
    handler = "exports.handler = () => new Promise((done) => setTimeout(done, 30000));\n"
    function = nodejs(code(tmp_path, "slow", {"index.js": handler}), timeout=0.5)
    result = runtime.invoke(function, {})
    assert result.error_type == "Sandbox.Timedout"
    assert result.error == "Task timed out after 0.50 seconds"


def test_reserved_concurrency_keeps_a_node_function_to_its_environments(
    runtime: LambdaRuntime, tmp_path: Path
) -> None:
    """A reserved concurrency of 1 ("Configuring reserved concurrency") holds a Node.js
    function to one environment, as a Python one: of two invocations at once, the second
    waits for it (the README's execution environments)."""
    handler = (
        "exports.handler = async () => {\n"
        "  const started = Date.now();\n"
        "  await new Promise((done) => setTimeout(done, 300));\n"
        "  return { pid: process.pid, started, ended: Date.now() };\n"
        "};\n"
    )
    function = nodejs(code(tmp_path, "reserved", {"index.js": handler}), reserved=1)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: runtime.invoke(function, {}), range(2)))
    first, second = sorted((result.answer for result in results), key=lambda a: a["started"])
    assert first["pid"] == second["pid"]
    assert second["started"] >= first["ended"]


def test_the_environment_is_lambdas_node_environment(
    runtime: LambdaRuntime, tmp_path: Path
) -> None:
    """ "Defined runtime environment variables" for Node.js: ``NODE_PATH`` is Lambda's, the
    execution environment names the function's runtime, and nothing of this machine's
    environment (the developer's credentials among it) reaches the function."""
    handler = "exports.handler = async () => process.env;\n"
    result = runtime.invoke(nodejs(code(tmp_path, "env", {"index.js": handler})), {})
    environment = result.answer
    assert isinstance(environment, dict), result.logs
    assert environment["NODE_PATH"] == (
        "/opt/nodejs/node24/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:"
        "/var/runtime:/var/task"
    )
    assert environment["AWS_EXECUTION_ENV"] == "AWS_Lambda_nodejs24.x"
    assert environment["LAMBDA_TASK_ROOT"] == "/var/task"
    assert environment["_HANDLER"] == "index.handler"
    assert "HOME" not in environment and "VIRTUAL_ENV" not in environment


def test_older_node_runtimes_run_with_this_node_and_a_warning(
    runtime: LambdaRuntime, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    function = nodejs(code(tmp_path, "old", {"index.js": ASYNC}), runtime="nodejs22.x")
    with caplog.at_level("WARNING", logger="constructs_ses.local"):
        result = runtime.invoke(function, {"n": 1})
    assert result.error is None, result.logs
    (warning,) = [r.getMessage() for r in caplog.records if "nodejs22.x" in r.getMessage()]
    assert "run locally as nodejs24.x" in warning and "node=" in warning
    assert "\tINFO\tgot 1 for" in result.logs


def test_a_functions_layers_are_searched_for_its_own_node_version(
    runtime: LambdaRuntime, tmp_path: Path
) -> None:
    """``NODE_PATH`` names the layer directory of the function's runtime
    (``/opt/nodejs/node22/node_modules`` for nodejs22.x: "Working with layers for Node.js
    Lambda functions"), whichever Node.js runs it here."""
    handler = "exports.handler = async () => process.env.NODE_PATH;\n"
    function = nodejs(code(tmp_path, "path", {"index.js": handler}), runtime="nodejs22.x")
    result = runtime.invoke(function, {})
    assert str(result.answer).startswith("/opt/nodejs/node22/node_modules:"), result.logs


def test_fails_without_the_nodejs_runtime_installed(tmp_path: Path) -> None:
    """Where the Node.js runtime was never installed, its functions fail saying how to
    install it; Python functions are not affected."""
    lambda_runtime = LambdaRuntime(tmp_path / "scratch", nodejs_runtime=tmp_path / "none")
    try:
        result = lambda_runtime.invoke(nodejs(code(tmp_path, "any", {"index.js": ASYNC})), {})
    finally:
        lambda_runtime.close()
    assert result.error_type == "Runtime.InvalidRuntime"
    assert "install-nodejs-runtime" in str(result.error)
    assert str(tmp_path / "none") in str(result.error)


def test_fails_to_install_without_the_build_tools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clients build native code: without the tools, the install says which Debian
    packages have them, before npm runs."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(
        LookupError, match=re.escape("apt-get install cmake make g++ autoconf automake libtool")
    ):
        install(tmp_path / "runtime")
    assert not (tmp_path / "runtime").exists()


def test_the_installed_runtime_is_the_pinned_one() -> None:
    """The clients' and SDK's versions come from the lock file shipped with the package, and
    the build trees the version 3 client's install leaves are gone."""
    installed = NodeRuntime.find()
    lock = json.loads((installed.packages_dir / "package-lock.json").read_text())
    for client in ("aws-lambda-ric", "aws-lambda-ric-3"):
        pinned = lock["packages"][f"node_modules/{client}"]["version"]
        package = installed.packages_dir / "node_modules" / client / "package.json"
        assert json.loads(package.read_text())["version"] == pinned
    deps = installed.packages_dir / "node_modules" / "aws-lambda-ric-3" / "deps"
    assert [path.name for path in deps.iterdir() if path.is_dir()] == ["patches"]
    assert installed.name == f"nodejs{installed.version}.x"
