"""One-time codes sent by SMS, confirming anything that commits a borrower or a complainant."""
