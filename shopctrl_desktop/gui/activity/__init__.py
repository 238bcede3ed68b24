"""The Activity page: the audit trail."""
