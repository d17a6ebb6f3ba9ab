"""The FAQ store: versioned edits, import/export, rollback, and live refresh of running engines."""
