"""Dyno Doctor: a Slack bot for teams that run apps on Heroku and Fly.io."""

__version__ = "0.1.0"
