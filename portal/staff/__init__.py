"""The staff console: staff accounts, sign-in with a second factor, roles, and the work agents
and supervisors do for borrowers, every step of it audited (portal/audit.py)."""
