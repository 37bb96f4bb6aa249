"""The agent mesh: analyst, architect, engineer and tester."""
