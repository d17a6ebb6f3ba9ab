"""The web admin and the team's web inbox: accounts, sessions, CSRF, pages (served under /admin)."""
