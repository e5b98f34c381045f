"""The site: what the operator publishes to every user (the announcement), and the bots' public names."""
