"""Evidence files: checked by content, hashed, stored with their owner, never served publicly."""
