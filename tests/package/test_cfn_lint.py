"""cfn-lint finds no error and no warning in the gated configurations, in every receiving region."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from cfnlint.config import ConfigMixIn
from cfnlint.core import get_rules
from cfnlint.rules import RulesCollection
from cfnlint.runner import run_template_by_data

from constructs_ses import MailFunction, default_receiving_regions

from conftest import cdk_json_context, inline_function, new_stack
from scenarios import every_option_stack, example_stack

REGIONS = default_receiving_regions()
SCENARIOS = ("Example", "Every")
INLINE_CODE = "def handler(event, context):\n    return None\n"


@pytest.fixture(scope="module")
def rules() -> RulesCollection:
    """cfn-lint's default rules: errors and warnings."""
    collection: RulesCollection = get_rules([], [], [], [], False, [])
    return collection


def lint(rules: RulesCollection, template: Path, region: str) -> list[str]:
    """cfn-lint's findings for one template deployed to ``region``, one line each."""
    document = json.loads(template.read_text())
    matches = run_template_by_data(document, ConfigMixIn(regions=[region]), rules)
    return [f"{m.rule.id} {'/'.join(map(str, m.path))}: {m.message}" for m in matches]


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One app with each configuration's stack in each receiving region, synthesized once."""
    out = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(context=cdk_json_context(), outdir=str(out))
    for region in REGIONS:
        example_stack(app, f"Example-{region}", region=region)
        # a domain of its own in each region: one domain's MX record can name one region only
        every_option_stack(app, f"Every-{region}", region=region, domain=f"{region}.example.com")
    app.synth()
    return out


@pytest.mark.parametrize("region", REGIONS)
def test_templates_are_clean_in(region: str, assembly: Path, rules: RulesCollection) -> None:
    findings = {
        name: lint(rules, assembly / f"{name}-{region}.template.json", region) for name in SCENARIOS
    }
    assert findings == {name: [] for name in SCENARIOS}


def test_fails_on_the_dependency_aws_cdk_lib_renders_for_a_plain_function(
    rules: RulesCollection, tmp_path: Path
) -> None:
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    stack = new_stack(app)
    inline_function(stack)
    MailFunction(stack, "Mail", handler="index.handler", code=lambda_.Code.from_inline(INLINE_CODE))
    app.synth()
    findings = lint(rules, tmp_path / "Mail.template.json", "us-east-1")
    assert [f.split()[0] for f in findings] == ["W3005"]
    assert "Resources/Fn" in findings[0]
