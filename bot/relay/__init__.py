"""The community team relay: roles, the escalation inbox, and answer cards for forwarding."""
