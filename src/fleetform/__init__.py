"""fleetform: declarative provisioning for fleets of Docker hosts."""

__version__ = "0.1.0"
