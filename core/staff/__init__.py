"""Staff: accounts with roles, password checks and sessions."""
