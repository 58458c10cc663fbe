"""Text messages: written with the change that causes them, sent after it commits."""
