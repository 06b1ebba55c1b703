"""boto3 clients of the local side that read nothing of the host's AWS configuration.

Every client the local side makes (``LocalAws.client``) comes from ``isolated_session()``: a
botocore session whose settings are botocore's defaults only. Of what botocore otherwise reads
("Configuration" in the boto3 guide: the ``AWS_*`` environment variables, the shared config
and credentials files and their profiles), it looks environment variables up in an empty
mapping and names no config or credentials file, so ``AWS_PROFILE``, ``AWS_CONFIG_FILE``,
``AWS_MAX_ATTEMPTS``, ``AWS_USE_FIPS_ENDPOINT``, ``AWS_CA_BUNDLE``... of the host change nothing.
Each client is given its endpoint, region and credentials, and no proxy (botocore takes proxies
from ``HTTP_PROXY`` / ``HTTPS_PROXY`` only when a client is configured with none).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["is_connection_error", "isolated_client", "isolated_session"]

_NO_FILES: Mapping[str, tuple[None, None, None, None]] = MappingProxyType(
    {
        "config_file": (None, None, None, None),
        "credentials_file": (None, None, None, None),
    }
)
"""Where botocore would read the shared config and credentials files: nowhere."""


def isolated_session() -> Any:
    """A boto3 session on a botocore session that reads no environment variable or file."""
    import boto3  # noqa: PLC0415 (the local extra)
    import botocore.session  # noqa: PLC0415
    from botocore.configprovider import (  # noqa: PLC0415
        DEFAULT_PROXIES_CONFIG_VARS,
        DEFAULT_S3_CONFIG_VARS,
        ConfigChainFactory,
        SectionConfigProvider,
    )
    from botocore.tokens import TokenProviderChain  # noqa: PLC0415

    core = botocore.session.Session()
    chains = ConfigChainFactory(session=core, environ={})

    def defaults(variables: Mapping[str, tuple[Any, ...]]) -> dict[str, Any]:
        return {
            name: chains.create_config_chain(
                instance_name=name, default=default, conversion_func=convert
            )
            for name, (_, _, default, convert) in variables.items()
        }

    # botocore's way to change where a setting comes from: the config store's providers
    store = core.get_component("config_store")
    for name, provider in defaults({**core.session_var_map, **_NO_FILES}).items():
        store.set_config_provider(name, provider)
    for section, variables in (
        ("s3", DEFAULT_S3_CONFIG_VARS),
        ("proxies_config", DEFAULT_PROXIES_CONFIG_VARS),
    ):
        store.set_config_provider(
            section, SectionConfigProvider(section, core, defaults(variables))
        )
    core.register_component("token_provider", TokenProviderChain(providers=[]))
    return boto3.Session(botocore_session=core)


def isolated_client(
    session: Any,
    service: str,
    *,
    endpoint_url: str,
    region: str,
    credentials: Mapping[str, str],
) -> Any:
    """A client of ``service`` from ``session`` (``isolated_session()``) at ``endpoint_url``,
    with ``credentials`` (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
    ``AWS_SESSION_TOKEN``) and no proxy."""
    from botocore.config import Config  # noqa: PLC0415 (the local extra)

    return session.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        config=Config(proxies={}),
    )


def is_connection_error(error: BaseException) -> bool:
    """Whether ``error`` is a client's failure to reach its endpoint (refused, cut short)."""
    from botocore.exceptions import (  # noqa: PLC0415 (the local extra)
        ConnectionClosedError,
        EndpointConnectionError,
    )

    return isinstance(error, EndpointConnectionError | ConnectionClosedError)
