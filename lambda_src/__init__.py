"""Handler template for an Amazon SES receipt rule's Lambda action (standard library only)."""
