"""Repayment plans: policy, arithmetic, the borrower flow and the review commands."""
