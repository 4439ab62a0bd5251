"""Users, roles, API tokens, login pages and the access decorator."""
