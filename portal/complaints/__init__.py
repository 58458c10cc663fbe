"""Complaints about improper collection: filing in steps, deadlines, handling."""
