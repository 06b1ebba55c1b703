"""What the local AWS's CloudFormation does beyond moto's: ``models`` (resource types moto skips
or gets wrong), ``operations`` (stack operations as the CloudFormation User Guide describes
them), ``custom_resources`` (Lambda-backed custom resources, run in the local Lambda runtime) and
``ses_checks`` (SES's create-time permission checks of a receipt rule)."""
