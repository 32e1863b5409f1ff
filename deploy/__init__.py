"""Deployment helpers: the nginx configuration renderer, capacity planning, the container test."""
