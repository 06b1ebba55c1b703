"""SES's own facts, from the Amazon SES Developer Guide: its limits and name rules (``limits``),
the regions that receive email (``regions``, with ``data/receiving_regions.json``), receiving
domains and their MX records (``domains``), and how to tell a CDK token, a value SES sees only
at deploy time, from a literal (``tokens``), which every rule here lets through.

This package imports nothing else from constructs_ses: the constructs and the checks build on
it. ``domains`` imports no aws-cdk-lib either, for the local mail flow.
"""
