"""What the local AWS's CloudFormation models share."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

from constructs_ses.local.aws.cloudformation.schemas import schema_of

__all__ = ["Model"]


class Model:
    """What the models here share. moto finds models among the direct subclasses of
    ``CloudFormationModel``, so each model names it beside this mixin."""

    TYPE: ClassVar[str]
    NAME_PROPERTY: ClassVar[str] = ""
    """The property that names the resource; without one moto makes a name up."""
    physical_id: str
    """What ``Ref`` returns."""
    replaces: Model | None = None
    """The resource an update replaced with this one, deleted in the update's cleanup phase."""

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        """Whether ``Fn::GetAtt`` may read ``attr``: its registry schema says (the schemas of
        the types modelled here are the same in every region)."""
        schema = schema_of(cls.TYPE, "us-east-1")
        return schema is not None and schema.has_attribute(attr)

    def attributes(self) -> dict[str, str]:
        """The values of the schema's read-only properties, which ``Fn::GetAtt`` reads."""
        return {}

    def get_cfn_attribute(self, attribute_name: str) -> str:
        values = self.attributes()
        if attribute_name not in values:
            raise UnformattedGetAttTemplateException()
        return values[attribute_name]

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Self:
        raise NotImplementedError  # each model creates its own

    @classmethod
    def replacement(
        cls,
        original: Model,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Self:
        """A new resource in place of ``original``, as CloudFormation replaces a resource whose
        change needs a new one; ``original`` is deleted in the update's cleanup phase."""
        created = cls.create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        created.replaces = original
        return created
