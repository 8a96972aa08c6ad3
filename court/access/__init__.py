"""Who may use the web side: accounts, login sessions, invitations and the audit trail."""
