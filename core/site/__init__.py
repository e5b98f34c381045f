"""The site: what the operator publishes to every user (the announcement)."""
