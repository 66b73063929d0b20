"""The seed data (assessment.json) and its loader (load.load_seed, behind `manage.py load_seed`)."""
