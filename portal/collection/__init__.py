"""Collection in the open: contacts the lender's platform reports, checked against the rules."""
