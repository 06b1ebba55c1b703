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
    def update_from_cloudformation_json(
        cls,
        original_resource: Self,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Self:
        """Nothing to update in place: a change of a create-only property (for some types,
        every property) replaces the resource, as its schema says, and the stack operation
        makes that replacement itself."""
        return original_resource
