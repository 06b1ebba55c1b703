"""The mail flow: SES's email receiving on this machine.

A synthesized app's receipt rule set (read from the cloud assembly, ``assembly``) runs against
real email as SES runs it: the SMTP front (``smtp``, ``envelope``) accepts or refuses recipients
at RCPT TO, SES's headers and ``mail`` object are built from the message (``message``), rules
match and their actions run in order (``mail_flow``), with the results ``Delivery`` and
``Invocation``; the stack's buckets and topics live in the local AWS (``stack_resources``).
It follows the Amazon SES Developer Guide: "Email receiving concepts and use cases", "Contents of
notifications for Amazon SES email receiving", "Invoking Lambda functions" and the action pages.

May import: ``constructs_ses.local.lambda_runtime``, ``constructs_ses.local.aws`` and the
package's SES facts; never aws-cdk-lib at run time.
"""
