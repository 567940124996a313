"""Web login protection and two-factor login: the admin's login through the shared login guard, TOTP codes, sessions."""
