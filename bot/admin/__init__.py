"""Admin tools: FAQ management (import/export, versions, rollback, live refresh) and periodic reports."""
