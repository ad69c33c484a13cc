"""The verbs: one module per forge command, doing its work (forge/commands/ only parses the flags)."""
