"""The agent mesh and the template platform: intents to blueprints to files."""
