"""Lambda code of the rule-set activation custom resource (standard library and boto3)."""
