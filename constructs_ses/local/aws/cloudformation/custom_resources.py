"""Lambda-backed custom resources in the local AWS, run by the local Lambda runtime.

CloudFormation sends a custom resource's function a request (``Create``, ``Update`` or
``Delete``) and waits for the function to PUT its answer to the request's pre-signed
``ResponseURL`` ("Custom resources", "Custom resource request objects" and "Custom resource
response objects", CloudFormation User Guide). moto 5.2 sends ``Create`` only, to a function it
can run only in Docker, and ignores a ``FAILED`` answer. Here (``install()``):

- each request runs the function's own code (the zip moto's Lambda holds) in ``LambdaRuntime``,
  the runtime of the local mail flow (``lambda_service``), with the AWS variables of this local
  AWS; property values arrive as strings, as CloudFormation sends them;
- the ``ResponseURL`` is on a receiver of this process (127.0.0.1; aws-cdk-lib's Node.js
  handlers, which answer over HTTPS on port 443 whatever the URL says, are sent to it by the
  Node.js runtime's ``cfn-response-receiver``); ``SUCCESS`` gives the
  resource its physical id and the ``Data`` that ``Fn::GetAtt`` reads, ``FAILED`` fails the
  operation with CloudFormation's wording (``Received response status [FAILED] from custom
  resource. Message returned: <Reason>``);
- an ``Update`` answered with another physical id is followed, in the update's cleanup phase, by
  a ``Delete`` of the old one;
- a function that fails without answering fails the operation at once, with its error and log
  (CloudFormation would wait for the resource's ``ServiceTimeout``, an hour by default, while
  Lambda retries the function twice); one that ends well without answering may answer later
  (aws-cdk-lib's Provider framework answers from its waiter state machine), and is waited for
  up to the resource's ``ServiceTimeout``, or ``DEFAULT_SERVICE_TIMEOUT_SECONDS`` here.

Not emulated: SNS-backed custom resources, and functions of runtimes other than Python and
Node.js (the operation fails, saying so).
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import CloudFormationError
from moto.core.common_models import CloudFormationModel

from constructs_ses.local.aws.lambda_service import LocalFunctions
from constructs_ses.local.lambda_runtime.function import FunctionSpec
from constructs_ses.local.lambda_runtime.nodejs import RESPONSE_RECEIVER_VARIABLE

__all__ = ["CustomResourceFailedError", "CustomResourceRunner", "LambdaCustomResource", "install"]

ANSWER_GRACE_SECONDS = 2.0
"""How long an answer may follow the end of a failed invocation."""
DEFAULT_SERVICE_TIMEOUT_SECONDS = 300.0
"""How long an answer may follow the end of an invocation that did not fail, for a resource
without ``ServiceTimeout`` (CloudFormation waits 3600 seconds)."""


class CustomResourceFailedError(CloudFormationError):
    """A custom resource's request failed: the function answered FAILED, or never answered."""

    code = "ValidationError"


class _Answers(ThreadingHTTPServer):
    """Receives custom resource answers: ``PUT /<request id>`` with the response object."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _AnswerHandler)
        self.received: dict[str, dict[str, Any]] = {}
        self.arrived = threading.Condition()
        threading.Thread(target=self.serve_forever, name="cfn-answers", daemon=True).start()

    @property
    def address(self) -> str:
        """``host:port``."""
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"

    def url(self, request_id: str) -> str:
        return f"http://{self.address}/{request_id}"

    def wait(self, request_id: str, timeout: float) -> dict[str, Any] | None:
        with self.arrived:
            self.arrived.wait_for(lambda: request_id in self.received, timeout)
            return self.received.pop(request_id, None)


class _AnswerHandler(BaseHTTPRequestHandler):
    server: _Answers

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            answer = json.loads(body)
        except ValueError:
            self.send_error(HTTPStatus.BAD_REQUEST, "the body is not a JSON response object")
            return
        with self.server.arrived:
            self.server.received[self.path.lstrip("/")] = answer
            self.server.arrived.notify_all()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: answers are reported with the operation they belong to."""


@dataclass
class Request:
    """One custom resource request, as CloudFormation sends it."""

    kind: str
    """``Create``, ``Update`` or ``Delete``."""
    resource: LambdaCustomResource
    old_properties: Mapping[str, Any] | None = None

    def event(self, request_id: str, response_url: str) -> dict[str, Any]:
        resource = self.resource
        event: dict[str, Any] = {
            "RequestType": self.kind,
            "ServiceToken": resource.service_token,
            "ResponseURL": response_url,
            "StackId": resource.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": resource.logical_id,
            "ResourceType": resource.resource_type,
            "ResourceProperties": dict(resource.properties),
        }
        if self.kind != "Create":
            event["PhysicalResourceId"] = resource.physical_id
        if self.old_properties is not None:
            event["OldResourceProperties"] = dict(self.old_properties)
        return event


@dataclass
class CustomResourceRunner:
    """Sends custom resource requests to their functions, run by ``functions``."""

    functions: LocalFunctions
    answers: _Answers = field(default_factory=_Answers)

    def send(self, request: Request) -> dict[str, Any]:
        """Run ``request``; the answer's ``PhysicalResourceId`` and ``Data`` on SUCCESS."""
        resource = request.resource
        request_id = str(uuid.uuid4())
        function = self._function(resource)
        event = request.event(request_id, self.answers.url(request_id))
        result = self.functions.runtime.invoke(function, event)
        answer = self.answers.wait(request_id, _answer_wait(resource, failed=bool(result.error)))
        where = f"{resource.logical_id} ({resource.resource_type}, {request.kind})"
        if answer is None:
            raise CustomResourceFailedError(
                f"custom resource {where}: {function.name} ended without answering "
                f"CloudFormation ({result.error or 'no error'}); its log:\n{result.logs}"
            )
        if answer.get("Status") != "SUCCESS":
            raise CustomResourceFailedError(
                f"custom resource {where}: Received response status [{answer.get('Status')}] "
                f"from custom resource. Message returned: {answer.get('Reason', '')} "
                f"(RequestId: {request_id})"
            )
        return answer

    def _function(self, resource: LambdaCustomResource) -> FunctionSpec:
        backend = lambda_backends[resource.account_id][resource.region_name]
        try:
            function: LambdaFunction = backend.get_function(resource.service_token)
        except Exception:
            raise CustomResourceFailedError(
                f"custom resource {resource.logical_id}: ServiceToken "
                f"{resource.service_token} is no Lambda function of this local AWS (only "
                "Lambda-backed custom resources run here)"
            ) from None
        return self.functions.spec(function)


class LambdaCustomResource(CloudFormationModel):
    """A ``Custom::*`` or ``AWS::CloudFormation::CustomResource`` resource whose ``ServiceToken``
    is a Lambda function; its requests go through ``runner`` (bound by ``install()``)."""

    runner: ClassVar[CustomResourceRunner]

    def __init__(
        self,
        *,
        logical_id: str,
        stack_id: str,
        resource_type: str,
        properties: Mapping[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        self.logical_id = logical_id
        self.stack_id = stack_id
        self.resource_type = resource_type
        self.properties = _as_strings(properties)
        self.service_token = str(properties["ServiceToken"])
        self.account_id = account_id
        self.region_name = region_name
        self.physical_id = ""
        self.data: dict[str, Any] = {}
        self.replaces: LambdaCustomResource | None = None

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFormation::CustomResource"

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True  # whatever the function's Data holds

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.data:
            raise CustomResourceFailedError(
                f"custom resource {self.logical_id} answered no attribute {attribute_name!r} "
                f"(its Data holds {sorted(self.data)})"
            )
        return self.data[attribute_name]

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> LambdaCustomResource:
        resource = cls(
            logical_id=str(kwargs["LogicalId"]),
            stack_id=str(kwargs["StackId"]),
            resource_type=str(kwargs["ResourceType"]),
            properties=cloudformation_json["Properties"],
            account_id=account_id,
            region_name=region_name,
        )
        resource._answered(cls.runner.send(Request("Create", resource)))
        return resource

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: LambdaCustomResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> LambdaCustomResource:
        resource = copy.copy(original_resource)
        resource.replaces = None
        resource.properties = _as_strings(cloudformation_json["Properties"])
        resource.service_token = str(cloudformation_json["Properties"]["ServiceToken"])
        update = Request("Update", resource, old_properties=original_resource.properties)
        resource._answered(cls.runner.send(update))
        if resource.physical_id != original_resource.physical_id:
            resource.replaces = original_resource  # sent a Delete in the cleanup phase
        return resource

    def delete(self, account_id: str, region_name: str) -> None:
        self.runner.send(Request("Delete", self))

    def _answered(self, answer: Mapping[str, Any]) -> None:
        self.physical_id = str(answer.get("PhysicalResourceId") or self.physical_id)
        if not self.physical_id:
            raise CustomResourceFailedError(
                f"custom resource {self.logical_id} answered SUCCESS without a "
                "PhysicalResourceId, which CloudFormation requires"
            )
        self.data = dict(answer.get("Data") or {})


def _answer_wait(resource: LambdaCustomResource, *, failed: bool) -> float:
    """Seconds to wait for the answer once the function ended (``failed``: with an error)."""
    if failed:
        return ANSWER_GRACE_SECONDS
    try:
        return float(resource.properties.get("ServiceTimeout", DEFAULT_SERVICE_TIMEOUT_SECONDS))
    except ValueError:
        return DEFAULT_SERVICE_TIMEOUT_SECONDS


def _as_strings(value: Any) -> Any:
    """Property values as a custom resource receives them: scalars become strings."""
    if isinstance(value, Mapping):
        return {key: _as_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_strings(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def install(functions: LocalFunctions) -> CustomResourceRunner:
    """Have custom resources of the local AWS run through ``functions``; returns the runner."""
    runner = CustomResourceRunner(functions)
    # aws-cdk-lib's Node.js handlers answer wherever they run: the custom resource's own
    # function, or one it invokes (the Provider framework's waiter)
    functions.environment[RESPONSE_RECEIVER_VARIABLE] = runner.answers.address
    bound: type[LambdaCustomResource] = type(
        "BoundLambdaCustomResource", (LambdaCustomResource,), {"runner": runner}
    )
    original: Callable[[str], Any] = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        if resource_type.startswith("Custom::") or resource_type == bound.cloudformation_type():
            return bound
        return original(resource_type)

    parsing.resource_class_from_type = resource_class_from_type
    return runner
