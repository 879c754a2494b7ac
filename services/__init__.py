"""The API gateway in front of the services, and the launcher that runs them."""
