"""The sample microservice."""
